/** `raw` (raw-format.c): a pass-through format, optionally a window (`offset`, `size`) of its file. */
import { bdrvDebugEvent, bdrvPdiscard, bdrvPreadv, bdrvPwritev, bdrvPwriteZeroes } from "../data/block-io.js";
import { Errno, ioFail } from "../data/io-error.js";
import { rawTruncate } from "../data/truncate.js";
import { BDRV_BLOCK_OFFSET_VALID, BDRV_BLOCK_RAW, BDRV_REQ_ZERO_WRITE, BDRV_SECTOR_SIZE, BLOCK_PROBE_BUF_SIZE } from "../data/request-flags.js";
import { qemuAssert } from "../qemu-would-crash.js";
import { probeDriver } from "./index.js";
import { BLK_PERM_RESIZE, BLK_PERM_WRITE } from "../perms.js";
import { fail } from "../qmp-failure.js";
import { BDRV_CHILD_DATA, BDRV_CHILD_FILTERED, BDRV_CHILD_PRIMARY } from "../roles.js";
import { defaultPerms } from "../child-perms.js";
import type { BdsNode, Flat } from "../graph.js";
import { childNamed } from "../graph.js";
import { nodeLength } from "../node-length.js";
import { OpaqueSlot } from "../opaque.js";
import type { DriverDef } from "./driver.js";
import { absorbQemuOpts } from "./qemu-opts.js";

/** BDRVRawState: the window into the file (`size` is the node's length, node.size). */
interface RawWindow {
  offset: number;
  hasSize: boolean;
}

/** The window of an open node. */
const windowSlot = new OpaqueSlot<RawWindow>("raw");
/** What raw_reopen_prepare staged: the new window and its size. */
const reopenSlot = new OpaqueSlot<RawWindow & { size: number }>("raw-reopen");

/**
 * `raw_read_options`: `offset` and `size` are QemuOpts sizes, so a string (qemu-io's `reopen -o`,
 * an inherited option) is parsed as one; they are taken out of `options`.
 */
function readWindowOptions(options: Flat): { offset: bigint; hasSize: boolean; size: bigint } {
  const opts = absorbQemuOpts(options, { offset: "size", size: "size" });
  return { offset: opts.uint("offset", 0n), hasSize: opts.has("size"), size: opts.uint("size", 0n) };
}

/** `raw_apply_options`: the window must fit in the file and be sector-aligned. */
function applyWindow(node: BdsNode, options: Flat): RawWindow & { size: number } {
  const { offset, hasSize, size } = readWindowOptions(options);
  const file = childNamed(node, "file");
  const fileSize = BigInt(file ? nodeLength(file.bs) : 0);
  if (offset > fileSize) {
    fail(`Offset (${offset}) cannot be greater than size of the containing file (${fileSize})`);
  }
  if (hasSize && fileSize - offset < size) {
    fail(
      `The sum of offset (${offset}) and size (${size}) has to be smaller or equal to the ` +
        ` actual size of the containing file (${fileSize})`,
    );
  }
  // Only a size given is checked: without one the window runs to the file's end, aligned or not.
  if (hasSize && size % 512n !== 0n) fail("Specified size is not multiple of 512");
  return { offset: Number(offset), hasSize, size: Number(hasSize ? size : fileSize - offset) };
}

/**
 * `raw_adjust_offset`: a request must stay inside a window with a size (-ENOSPC for a write,
 * -EINVAL for a read); it moves by the window's offset. Returns the file node and the offset in it.
 */
function adjustOffset(node: BdsNode, offset: number, bytes: number, isWrite: boolean): { file: BdsNode; offset: number } {
  const w = windowSlot.get(node);
  if (w.hasSize && (offset > node.size || bytes > node.size - offset)) ioFail(isWrite ? Errno.ENOSPC : Errno.EINVAL);
  return { file: childNamed(node, "file")!.bs, offset: offset + w.offset };
}

/** Whether `node` is a raw window whose size refuses a write of `bytes` at `offset` (raw_adjust_offset's -ENOSPC). */
export function windowRefusesWrite(node: BdsNode, offset: number, bytes: number): boolean {
  const w = windowSlot.find(node);
  return node.driver === rawDriver && w !== undefined && w.hasSize && (offset > node.size || bytes > node.size - offset);
}

export const rawDriver: DriverDef = {
  name: "raw",
  fua: { write: "file", zero: "file" },
  protocol: false,
  isFilter: false,
  supportsBacking: false,
  mutableOpts: ["offset", "size"],

  /** raw_open: what its file supports. */
  supportsZeroUnmap(node) {
    const file = childNamed(node, "file");
    return file ? (file.bs.driver.supportsZeroUnmap?.(file.bs) ?? false) : false;
  },
  strongOpts: ["offset", "size"],
  /** raw_has_zero_init: its file's. */
  hasZeroInit: (node, recurse) => recurse(childNamed(node, "file")!.bs),

  /** `raw_refresh_limits`: a probed node is read-modify-written below a whole sector. */
  ioLimits: (node) => (node.probed ? { requestAlignment: BDRV_SECTOR_SIZE } : {}),

  /** `raw_probe`: anything, as a last resort. */
  probe: () => 1,

  open(ctx) {
    // raw_open reads the options before it opens the file; bs->options keeps them.
    const { offset, hasSize } = readWindowOptions({ ...ctx.options });
    // Only a real window (non-zero offset, or a size) makes the file a DATA child rather than a filtered one.
    const window = offset !== 0n || hasSize;
    ctx.openChild("file", (window ? BDRV_CHILD_DATA : BDRV_CHILD_FILTERED) | BDRV_CHILD_PRIMARY, false);
    const w = applyWindow(ctx.node, { ...ctx.options });
    windowSlot.set(ctx.node, { offset: w.offset, hasSize: w.hasSize });
    ctx.node.size = w.size;
  },

  /** `raw_child_perm`: the default rule, but never more write/resize than the parents asked for. */
  childPerm({ child, P, S, writable }) {
    const [perm, shared] = defaultPerms(child.role, P, S, writable);
    return [(perm & ~(BLK_PERM_WRITE | BLK_PERM_RESIZE)) | (P & (BLK_PERM_WRITE | BLK_PERM_RESIZE)), shared];
  },

  /**
   * `raw_getlength`, which never fails and keeps what it finds in s->size: after a reopen that moved
   * the window onto a smaller file (checked against the old one in prepare) the node is empty.
   */
  getLength(node, length) {
    const file = childNamed(node, "file");
    const len = file ? length(file.bs) : 0;
    const w = windowSlot.get(node);
    if (len < w.offset) node.size = 0;
    else node.size = w.hasSize ? Math.min(node.size, len - w.offset) : len - w.offset;
    return node.size;
  },

  /** `raw_reopen_prepare`: the new window must fit the (current) file; offset and size are taken. */
  reopenPrepare(rs) {
    reopenSlot.set(rs, applyWindow(rs.bs, rs.options));
  },

  /** `raw_reopen_commit`. */
  reopenCommit(rs) {
    const { offset, hasSize, size } = reopenSlot.get(rs);
    windowSlot.set(rs.bs, { offset, hasSize });
    rs.bs.size = size;
  },

  /** `raw_get_info` asks the file. */
  getInfo(node) {
    return { askNode: childNamed(node, "file")!.bs };
  },

  /** `raw_co_preadv`. */
  preadv(host, node, offset, bytes, flags) {
    const at = adjustOffset(node, offset, bytes, false);
    bdrvDebugEvent(at.file, "read_aio");
    return bdrvPreadv(host, at.file, at.offset, bytes, flags);
  },

  /**
   * `raw_co_pwritev`. A probed node guards its first sector: what is written there must probe as
   * raw again (bdrv_probe_all of those 512 bytes, no file name), or the write fails with EPERM. Its
   * request alignment makes any write that touches the sector cover all of it.
   */
  pwritev(host, node, offset, data, flags) {
    if (node.probed && offset < BLOCK_PROBE_BUF_SIZE && data.length > 0) {
      if (offset !== 0 || data.length < BLOCK_PROBE_BUF_SIZE) {
        qemuAssert({ file: "../../block/raw-format.c", line: 234, func: "raw_co_pwritev" }, "offset == 0 && bytes >= BLOCK_PROBE_BUF_SIZE");
      }
      if ((probeDriver(data.slice(0, BLOCK_PROBE_BUF_SIZE).toBuffer(), "")?.name ?? "raw") !== "raw") ioFail(Errno.EPERM);
    }
    const at = adjustOffset(node, offset, data.length, true);
    bdrvDebugEvent(at.file, "write_aio");
    bdrvPwritev(host, at.file, at.offset, data, flags, childNamed(node, "file"));
  },

  /** `raw_co_pwrite_zeroes`. */
  pwriteZeroes(host, node, offset, bytes, flags) {
    const at = adjustOffset(node, offset, bytes, true);
    bdrvPwriteZeroes(host, at.file, at.offset, bytes, flags & ~BDRV_REQ_ZERO_WRITE, childNamed(node, "file"));
  },

  /** `raw_co_pdiscard`. */
  pdiscard(host, node, offset, bytes) {
    const at = adjustOffset(node, offset, bytes, true);
    bdrvPdiscard(host, at.file, at.offset, bytes);
  },

  /** `raw_co_truncate` (data/truncate.ts). */
  truncate(host, node, offset, exact, prealloc, flags) {
    rawTruncate(host, node, windowSlot.get(node), offset, exact, prealloc, flags);
  },

  /** `raw_open`: what its file supports of BDRV_REQ_ZERO_WRITE. */
  supportedTruncateFlags(node) {
    const file = childNamed(node, "file")!.bs;
    return (file.driver.supportedTruncateFlags?.(file) ?? 0) & BDRV_REQ_ZERO_WRITE;
  },

  /** `raw_co_block_status`: whatever the file says at the moved offset. */
  blockStatus(_host, node, _wantZero, offset, bytes) {
    return { status: BDRV_BLOCK_RAW | BDRV_BLOCK_OFFSET_VALID, pnum: bytes, map: offset + windowSlot.get(node).offset, file: childNamed(node, "file")!.bs };
  },

  /** A window starting elsewhere is not followed; otherwise byte 0 is the file's. */
  readAtZero(node) {
    if ((windowSlot.find(node)?.offset ?? 0) !== 0) return null;
    const file = childNamed(node, "file");
    return file ? { node: file.bs } : null;
  },
};
