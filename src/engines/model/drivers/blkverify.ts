/**
 * `blkverify` (block/blkverify.c): a protocol-level filter over `raw` (its file child, the
 * reference copy) that also reads `test` (a data child) and compares. It cannot be reopened. Its
 * comparing data path is data/blkverify-io.ts.
 */
import { bdrvDefaultPerms } from "../child-perms.js";
import { blkverifyPreadv, blkverifyPwritev } from "../data/blkverify-io.js";
import { Errno, ioFail, ModelIoUnsupportedError } from "../data/io-error.js";
import { BDRV_REQ_NO_FALLBACK } from "../data/request-flags.js";
import { sameFileBytes } from "../data/same-file-bytes.js";
import { qemuAssert, type QemuSourceLine } from "../qemu-would-crash.js";
import { type BdsNode, childNamed } from "../graph.js";
import { nodeLength } from "../node-length.js";
import { fail } from "../qmp-failure.js";
import { BDRV_CHILD_DATA, BDRV_CHILD_FILTERED, BDRV_CHILD_PRIMARY } from "../roles.js";
import { interleavedFile } from "./blkverify-shared-file.js";
import type { DriverDef } from "./driver.js";
import { hostFileAtZero } from "./underlying.js";
import type { HostFiles } from "../data/host-file.js";
import { OpaqueSlot } from "../opaque.js";

/** The engine's host files, where readAtZero compares the children's files. */
const slot = new OpaqueSlot<{ files: HostFiles }>("blkverify");

/** Where Debian's 7.2.22 build asserts in bdrv_co_do_pwrite_zeroes. */
const DO_PWRITE_ZEROES: QemuSourceLine = { file: "../../block/io.c", line: 1908, func: "bdrv_co_do_pwrite_zeroes" };

/** bs->exact_filename is a PATH_MAX buffer: a longer name is not reported at all. */
const PATH_MAX = 4096;

export const blkverifyDriver: DriverDef = {
  name: "blkverify",

  /** `blkverify_co_flush`: only the test child (the raw one does not matter). */
  flushVia(node) {
    const test = childNamed(node, "test");
    return test ? [test.bs] : [];
  },
  protocol: true,
  isFilter: true,
  supportsBacking: false,
  fileChildName: "raw",
  /** `blkverify_recurse_can_replace`: a mismatch ends QEMU, so both children show what it shows. */
  recurseCanReplace(node, toReplace, recurse) {
    return recurse(childNamed(node, "raw")?.bs ?? null, toReplace) || recurse(childNamed(node, "test")?.bs ?? null, toReplace);
  },
  mutableOpts: [],

  /** `blkverify_open`: `raw` first (bdrv_open_file_child: a filter's file is FILTERED|PRIMARY), then `test`. */
  open(ctx) {
    ctx.openChild("raw", BDRV_CHILD_FILTERED | BDRV_CHILD_PRIMARY, false);
    const test = ctx.openChild("test", BDRV_CHILD_DATA, false)!;
    slot.set(ctx.node, { files: ctx.host.hostFiles });
    // bdrv_refresh_total_sectors → blkverify_getlength: the test file's length.
    ctx.node.size = nodeLength(test.bs);
  },

  childPerm: bdrvDefaultPerms,

  /** `blkverify_getlength`: the test file's length, whichever child a truncate went to. */
  refreshedLength(node) {
    const test = childNamed(node, "test");
    return test ? nodeLength(test.bs) : node.size;
  },

  /** `blkverify_co_preadv`. */
  preadv(host, node, offset, bytes, flags) {
    const [test, raw] = children(node);
    return blkverifyPreadv(host, test, raw, offset, bytes, flags);
  },

  /** `blkverify_co_pwritev`; zero writes come here as zeroed buffers (no `.bdrv_co_pwrite_zeroes`). */
  pwritev(host, node, offset, data, flags) {
    const [test, raw] = [childNamed(node, "test")!, childNamed(node, "raw")!];
    if (interleavedFile(test.bs, raw.bs) !== undefined) {
      throw new ModelIoUnsupportedError(
        `a write through blkverify whose children '${test.bs.name}' and '${raw.bs.name}' reach one host file, one with metadata of its own (QEMU interleaves the two writes where each waits for I/O)`,
      );
    }
    blkverifyPwritev(host, test, raw, offset, data, flags);
  },

  /**
   * blkverify has no `.bdrv_co_pwrite_zeroes` but sets supported_zero_flags (WRITE_UNCHANGED), so
   * 7.2's bdrv_co_do_pwrite_zeroes fails its assertion before falling back to a zeroed buffer: a
   * zero write through blkverify (`write -z`, detect-zeroes) aborts QEMU. A request that may not
   * fall back is refused before that (-ENOTSUP).
   */
  pwriteZeroes(_host, _node, _offset, _bytes, flags) {
    if (flags & BDRV_REQ_NO_FALLBACK) ioFail(Errno.ENOTSUP);
    qemuAssert(DO_PWRITE_ZEROES, "!bs->supported_zero_flags");
  },

  /** A header read compares both children: followed when both show the same host file bytes. */
  readAtZero(node) {
    const [test, raw] = children(node);
    const paths = [hostFileAtZero(raw), hostFileAtZero(test)];
    if (paths.every((p): p is string => p !== null) && sameFileBytes(slot.get(node).files, paths)) return { node: raw };
    return { unsupported: `an image header read through blkverify node '${node.name}' whose children differ (or are not plain files)` };
  },

  /** `blkverify_dirname`. */
  dirname() {
    return fail("Cannot generate a base directory for blkverify nodes");
  },

  /** `blkverify_refresh_filename`: "blkverify:RAW:TEST" when both children have exact names. */
  refreshFilename(node, { primaryExactFilename, exactFilenameOf }) {
    const test = childNamed(node, "test");
    const testExact = test ? exactFilenameOf(test.bs) : "";
    if (!primaryExactFilename || !testExact) return "";
    const name = `blkverify:${primaryExactFilename}:${testExact}`;
    return name.length >= PATH_MAX ? "" : name;
  },
};

/** The `test` and `raw` children. */
function children(node: BdsNode): [BdsNode, BdsNode] {
  return [childNamed(node, "test")!.bs, childNamed(node, "raw")!.bs];
}
