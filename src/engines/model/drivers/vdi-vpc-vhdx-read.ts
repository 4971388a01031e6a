/**
 * `bdrv_pread(bs->file, …)` for the vdi, vpc and vhdx drivers' metadata: through the file child's
 * data path (never the disk directly), at offsets taken from a header (uint64, so bigint).
 */
import { bdrvPreadv } from "../data/block-io.js";
import { Errno, IoError, ModelIoUnsupportedError, strerror } from "../data/io-error.js";
import { BDRV_MAX_LENGTH } from "../data/request-flags.js";
import type { BdsNode } from "../graph.js";
import { fail } from "../qmp-failure.js";
import { FilenameCache } from "../query/filename.js";
import type { DriverHost } from "./driver.js";


/**
 * `bytes` bytes of `file` from `offset` (zeros past its end, as bdrv_pread gives them), or the errno
 * of a failed read. With `uninitialised`, bytes the file's driver left as they were (null-co without
 * read-zeroes) are something the model cannot follow, named by it: QEMU's buffer holds garbage.
 */
export function preadOrErrno(host: DriverHost, file: BdsNode, offset: number | bigint, bytes: number, uninitialised?: string): Buffer | number {
  const at = BigInt(offset);
  // uint64 header offsets of 2^63 and more are negative int64 offsets to the block layer.
  if (at > BigInt(BDRV_MAX_LENGTH) - BigInt(bytes)) return Errno.EIO;
  // Far past any file the model holds: zeros, as past the end of any file.
  if (at > BigInt(Number.MAX_SAFE_INTEGER)) return Buffer.alloc(bytes);
  try {
    const data = bdrvPreadv(host, file, Number(at), bytes);
    if (uninitialised !== undefined && data.segments.some((seg) => seg.kind === "untouched")) throw new ModelIoUnsupportedError(uninitialised);
    return data.toBuffer();
  } catch (e) {
    if (e instanceof IoError) return e.errno;
    throw e;
  }
}

/**
 * preadOrErrno, where a failed read fails the open with `message` when the driver sets one, else as
 * bdrv_open_driver reports an error the driver left unset (failOpen).
 */
export function readMetadata(host: DriverHost, file: BdsNode, offset: number | bigint, bytes: number, message?: string, uninitialised?: string): Buffer {
  const r = preadOrErrno(host, file, offset, bytes, uninitialised);
  if (typeof r !== "number") return r;
  return message !== undefined ? fail(message) : failOpen(file, r);
}

/**
 * bdrv_open_driver's report of an open that returned -errno without an error of its own:
 * "Could not open '<bs->filename>': <strerror>", where bs->filename is the file child's
 * (bdrv_open_common copies it).
 */
export function failOpen(file: BdsNode, errno: number): never {
  return fail(`Could not open '${new FilenameCache().filename(file)}': ${strerror(errno)}`);
}
