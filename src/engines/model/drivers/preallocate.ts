/**
 * `preallocate` (block/preallocate.c): a filter that, while its users may write and resize, owns
 * its file's length. A write past the end of the data zeroes ahead of it up to `prealloc-size` more
 * (aligned to `prealloc-align`), so the file grows in large steps; the filter's own length is the
 * end of the data (`data_end`), and the file is cut back to it when the filter loses write+resize
 * or closes. Its state is kept across a reopen that gives it another file, as QEMU keeps it.
 */
import { bdrvPwritev, bdrvPwriteZeroes, requestAlignment } from "../data/block-io.js";
import type { Data } from "../data/data.js";
import { IoError } from "../data/io-error.js";
import { BDRV_REQ_NO_FALLBACK, BDRV_REQ_ZERO_WRITE } from "../data/request-flags.js";
import { bdrvTruncate } from "../data/truncate.js";
import { childNamed, type BdsNode, type Child, type Flat } from "../graph.js";
import { nodeLength } from "../node-length.js";
import { OpaqueSlot } from "../opaque.js";
import { BLK_PERM_RESIZE, BLK_PERM_WRITE } from "../perms.js";
import { qemuAssert } from "../qemu-would-crash.js";
import { fail, QmpFailure } from "../qmp-failure.js";
import type { DriverDef, DriverHost } from "./driver.js";
import { FILTER_DEFAULTS, FILTER_IO, openFilteredFile } from "./filter.js";
import { absorbQemuOpts } from "./qemu-opts.js";

const WR = BLK_PERM_WRITE | BLK_PERM_RESIZE;
const MiB = 1 << 20;
/** -EINVAL, what QEMU marks an unknown length with (any negative value is "not valid"). */
const INVALID = -22;

interface PreallocOpts {
  align: number;
  size: number;
}

/**
 * BDRVPreallocateState. The three ends are valid (≥ 0) only while the filter holds write+resize on
 * its file, and hold a negative errno otherwise.
 */
interface PreallocState {
  opts: PreallocOpts;
  /** The largest end of the data: the file's length when the filter got the permissions, or the end of a later write. */
  dataEnd: number;
  /** Where zeroes the filter wrote itself begin (past the data). */
  zeroStart: number;
  /** The file's real length (a cache of bdrv_getlength of the file). */
  fileEnd: number;
}

const slot = new OpaqueSlot<PreallocState>("preallocate");
const reopenSlot = new OpaqueSlot<PreallocOpts>("preallocate-reopen");

const file = (node: BdsNode): Child => childNamed(node, "file")!;
const canWriteResize = (perm: number) => (perm & WR) === WR;

/** `preallocate_absorb_opts`: prealloc-align (1 MiB by default) must suit sectors and the file; prealloc-size is 128 MiB by default. */
function absorbOpts(options: Flat, fileBs: BdsNode): PreallocOpts {
  const opts = absorbQemuOpts(options, { "prealloc-align": "size", "prealloc-size": "size" });
  const align = Number(opts.uint("prealloc-align", BigInt(MiB)));
  const size = Number(opts.uint("prealloc-size", BigInt(128 * MiB)));
  if (align % 512 !== 0) fail("prealloc-align parameter of preallocate filter is not aligned to 512");
  const fileAlign = requestAlignment(fileBs);
  if (align % fileAlign !== 0) {
    fail(`prealloc-align parameter of preallocate filter is not aligned to underlying node request alignment (${fileAlign})`);
  }
  return { align, size };
}

function invalidate(s: PreallocState, value = INVALID): void {
  s.dataEnd = s.zeroStart = s.fileEnd = value;
}

/** `has_prealloc_perms`, with its assertions that the state is kept only while the permissions are. */
function hasPreallocPerms(node: BdsNode, s: PreallocState): boolean {
  if (canWriteResize(file(node).perm)) return true;
  const at = (line: number) => ({ file: "../../block/preallocate.c", line, func: "has_prealloc_perms" });
  if (s.dataEnd >= 0) qemuAssert(at(257), "s->data_end < 0");
  if (s.zeroStart >= 0) qemuAssert(at(258), "s->zero_start < 0");
  if (s.fileEnd >= 0) qemuAssert(at(259), "s->file_end < 0");
  return false;
}

/** `bdrv_truncate(bs->file, offset, true, PREALLOC_MODE_OFF, 0)`: the preallocation cut off. */
function truncateFile(host: DriverHost, node: BdsNode, offset: number): void {
  bdrvTruncate(host, file(node).bs, offset, true, "off", 0);
}

/**
 * `handle_write`, on every write: past the end of the data it moves the end, and past the file's
 * end it zeroes ahead (`prealloc_size` more, aligned). True when the range [offset, offset+bytes)
 * is known to read as zeroes already, so that a zero write asking to merge need not be passed on.
 */
function handleWrite(host: DriverHost, node: BdsNode, offset: number, bytes: number, wantMergeZero: boolean): boolean {
  const s = slot.get(node);
  const end = offset + bytes;
  const fileBs = file(node).bs;
  const fileAlign = requestAlignment(fileBs);
  const preallocAlign = Math.max(s.opts.align, fileAlign);
  if (preallocAlign % fileAlign !== 0) {
    qemuAssert({ file: "../../block/preallocate.c", line: 281, func: "handle_write" }, "QEMU_IS_ALIGNED(prealloc_align, file_align)");
  }
  // No state, and no trying to recover it.
  if (!hasPreallocPerms(node, s)) return false;
  if (s.dataEnd < 0) {
    s.dataEnd = nodeLength(fileBs);
    if (s.fileEnd < 0) s.fileEnd = s.dataEnd;
  }
  if (end <= s.dataEnd) return false;
  s.dataEnd = end;
  if (s.zeroStart < 0 || !wantMergeZero) s.zeroStart = end;
  if (s.fileEnd < 0) s.fileEnd = nodeLength(fileBs);
  if (end <= s.fileEnd) return wantMergeZero && offset >= s.zeroStart;

  const alignUp = (x: number, a: number) => Math.ceil(x / a) * a;
  const start = alignUp(wantMergeZero ? Math.min(offset, s.fileEnd) : s.fileEnd, fileAlign);
  const preallocEnd = alignUp(Math.max(start, end) + s.opts.size, preallocAlign);
  wantMergeZero = wantMergeZero && start <= offset;
  try {
    // BDRV_REQ_SERIALISING | BDRV_REQ_NO_WAIT as well: nothing runs beside it in the model.
    bdrvPwriteZeroes(host, fileBs, start, preallocEnd - start, BDRV_REQ_NO_FALLBACK);
  } catch (e) {
    if (!(e instanceof IoError)) throw e;
    s.fileEnd = -e.errno;
    return false;
  }
  s.fileEnd = preallocEnd;
  return wantMergeZero;
}

export const preallocateDriver: DriverDef = {
  ...FILTER_DEFAULTS,
  ...FILTER_IO,
  name: "preallocate",
  fua: { write: "file", zero: "file" },

  /** `.bdrv_co_flush`: the file, whatever this node may do with it. */
  flushVia(node) {
    return [file(node).bs];
  },

  /** `preallocate_open`: the state is made valid by the first permission update that grants write+resize. */
  open(ctx) {
    const fileChild = openFilteredFile(ctx);
    const opts = absorbOpts(ctx.options, fileChild.bs);
    slot.set(ctx.node, { opts, dataEnd: INVALID, zeroStart: INVALID, fileEnd: INVALID });
  },

  /** `preallocate_close`: the file loses what was preallocated past the data. */
  close(node, host) {
    const s = slot.find(node);
    if (!s || s.dataEnd < 0) return;
    if (s.fileEnd < 0) s.fileEnd = nodeLength(file(node).bs);
    if (s.dataEnd < s.fileEnd) {
      try {
        truncateFile(host, node, s.dataEnd);
        s.fileEnd = s.dataEnd;
      } catch (e) {
        if (!(e instanceof QmpFailure || e instanceof IoError)) throw e;
        s.fileEnd = INVALID;
      }
    }
  },

  /** `preallocate_getlength`: the end of the data while it is known, else the file's length (then known, if the permissions allow). */
  getLength(node, length) {
    const s = slot.find(node);
    if (s && s.dataEnd >= 0) return s.dataEnd;
    const len = length(file(node).bs);
    if (s && hasPreallocPerms(node, s)) invalidate(s, len);
    return len;
  },

  /**
   * `preallocate_check_perm`: about to lose write+resize, the filter cuts the preallocation off the
   * file now, while it may still resize it. A failure to do so fails the permission update.
   */
  checkPerm(node, perm, _shared, host) {
    const s = slot.find(node);
    if (!s || s.dataEnd < 0 || canWriteResize(perm)) return;
    if (s.fileEnd < 0) s.fileEnd = nodeLength(file(node).bs);
    if (s.dataEnd < s.fileEnd) {
      try {
        truncateFile(host, node, s.dataEnd);
      } catch (e) {
        if (!(e instanceof QmpFailure || e instanceof IoError)) throw e;
        s.fileEnd = INVALID;
        fail("Failed to drop preallocation");
      }
      s.fileEnd = s.dataEnd;
    }
  },

  /** `preallocate_set_perm`: with write+resize the state starts from the file's length; without, it is forgotten. */
  setPerm(node, perm) {
    const s = slot.find(node);
    if (!s) return;
    if (!canWriteResize(perm)) invalidate(s);
    else if (s.dataEnd < 0) invalidate(s, nodeLength(file(node).bs));
  },

  /** `preallocate_child_perm`: keep file_end/data_end valid by not sharing write or resize. */
  childPerm({ P, S }) {
    if ((P & WR) === WR) return [P | WR, S & ~WR];
    return [P, S];
  },

  /** `preallocate_reopen_prepare`: the options again, checked against the current file. */
  reopenPrepare(rs) {
    reopenSlot.set(rs, absorbOpts(rs.options, file(rs.bs).bs));
  },
  reopenCommit(rs) {
    slot.get(rs.bs).opts = reopenSlot.get(rs);
  },

  /** `preallocate_co_pwrite_zeroes`: merged with the preallocation where that already zeroed the range. */
  pwriteZeroes(host, node, offset, bytes, flags) {
    const wantMergeZero = !(flags & ~(BDRV_REQ_ZERO_WRITE | BDRV_REQ_NO_FALLBACK));
    if (handleWrite(host, node, offset, bytes, wantMergeZero)) return;
    bdrvPwriteZeroes(host, file(node).bs, offset, bytes, flags);
  },

  /** `preallocate_co_pwritev_part`. */
  pwritev(host, node, offset, data: Data, flags) {
    handleWrite(host, node, offset, data.length, false);
    bdrvPwritev(host, file(node).bs, offset, data, flags);
  },

  /** bs->supported_zero_flags: the file's MAY_UNMAP. */
  supportsZeroUnmap(node) {
    const fileBs = file(node).bs;
    return fileBs.driver.supportsZeroUnmap?.(fileBs) ?? false;
  },

  /**
   * `preallocate_co_truncate`: growing past the data, a falloc truncate that the preallocation
   * already covers only moves the end of the data; any other first drops the preallocation.
   */
  truncate(host, node, offset, exact, prealloc, flags) {
    const s = slot.get(node);
    if (s.dataEnd >= 0 && offset > s.dataEnd) {
      if (s.fileEnd < 0) s.fileEnd = nodeLength(file(node).bs);
      if (prealloc === "falloc") {
        if (offset <= s.fileEnd) {
          s.dataEnd = offset;
          return;
        }
      } else if (s.fileEnd > s.dataEnd) {
        try {
          truncateFile(host, node, s.dataEnd);
        } catch (e) {
          if (!(e instanceof QmpFailure)) throw e;
          s.fileEnd = INVALID;
          fail(`preallocate-filter: failed to drop write-zero preallocation: ${e.body.desc}`);
        }
        s.fileEnd = s.dataEnd;
      }
      s.dataEnd = offset;
    }
    try {
      bdrvTruncate(host, file(node).bs, offset, exact, prealloc, flags);
    } catch (e) {
      if (e instanceof QmpFailure) invalidate(s);
      throw e;
    }
    if (hasPreallocPerms(node, s)) invalidate(s, offset);
  },
};
