/**
 * `bdrv_co_truncate` (block/io.c): resizing a node on behalf of a parent that holds the resize
 * permission (qemu-io's `truncate`). The generic part checks the size, refuses read-only nodes,
 * asks for zeroed growth when a longer backing file would otherwise show through, and hands the
 * request to the driver's `.bdrv_co_truncate` — or, for a filter without one, to its filtered
 * child — then refreshes the node's length as `refresh_total_sectors` does. Failures are QEMU's
 * messages (QmpFailure), each with the errno QEMU returns with it.
 */
import type { DriverHost } from "../drivers/driver.js";
import { type BdsNode, childNamed, filteredChild } from "../graph.js";
import { nodeLength } from "../node-length.js";
import { failErrno } from "../qmp-failure.js";
import { qemuErrorAbort } from "../qemu-would-crash.js";
import { Data } from "./data.js";
import { EXT4_MAX_FILE_SIZE } from "./host-file.js";
import { Errno } from "./io-error.js";
import { BDRV_MAX_LENGTH, BDRV_REQ_ZERO_WRITE } from "./request-flags.js";

/** Where bdrv_check_qiov_request sets its negative-offset error (Debian's 7.2.22 build). */
const CHECK_QIOV_REQUEST = { file: "../../block/io.c", line: 971, func: "bdrv_check_qiov_request" };
/** allocate_first_block's write: MAX_BLOCKSIZE, or a sector for a file shorter than that. */
const FIRST_BLOCK = 4096;

/** QAPI's PreallocMode. */
export const PREALLOC_MODES = ["off", "metadata", "falloc", "full"] as const;
export type PreallocMode = (typeof PREALLOC_MODES)[number];

/** `bdrv_co_truncate(child → bs, offset, exact, prealloc, flags)`: throws QmpFailure. */
export function bdrvTruncate(host: DriverHost, bs: BdsNode, offset: number, exact: boolean, prealloc: PreallocMode, flags: number): void {
  if (offset < 0) failErrno("Image size cannot be negative", Errno.EINVAL);
  // The offset in full: a number this large prints rounded to its shortest form.
  if (offset > BDRV_MAX_LENGTH) failErrno(`offset(${BigInt(offset)}) exceeds maximum(${BigInt(BDRV_MAX_LENGTH)})`, Errno.EIO);
  const oldSize = nodeLength(bs);
  if (bs.readOnly) failErrno("Image is read-only", Errno.EACCES);
  const newBytes = offset > oldSize ? offset - oldSize : 0;
  const filtered = filteredChild(bs);
  // bdrv_cow_child: the backing child of a node that is no filter.
  const backing = bs.driver.isFilter ? undefined : childNamed(bs, "backing");
  if (newBytes && backing && nodeLength(backing.bs) > oldSize) flags |= BDRV_REQ_ZERO_WRITE;
  if (bs.driver.truncate) {
    if (flags & ~(bs.driver.supportedTruncateFlags?.(bs) ?? 0)) failErrno("Block driver does not support requested flags", Errno.ENOTSUP);
    bs.driver.truncate(host, bs, offset, exact, prealloc, flags);
  } else if (filtered) {
    bdrvTruncate(host, filtered.bs, offset, exact, prealloc, flags);
    // refresh_total_sectors(bs, offset >> BDRV_SECTOR_BITS): the filter's .bdrv_getlength, mostly
    // its child's length, or the hint where it has none.
    const hint = Math.floor(offset / 512) * 512;
    if (!bs.driver.getLength) bs.size = bs.driver.refreshedLength?.(bs, hint) ?? nodeLength(filtered.bs);
  } else {
    failErrno("Image format driver does not support resize", Errno.ENOTSUP);
  }
  // bdrv_co_write_req_finish(child, offset - new_bytes, new_bytes), with offset the length
  // refresh_total_sectors found: a filter whose length does not follow its child's (blkverify's is
  // its test child's) can leave it below the growth, and the request's check fails on &error_abort.
  const length = nodeLength(bs);
  if (length !== oldSize) bs.slots?.markResized(bs, true);
  if (length - newBytes < 0) qemuErrorAbort(CHECK_QIOV_REQUEST, `offset is negative: ${length - newBytes}`);
  // The dirty bitmaps take the new length.
  bs.writeGen = (bs.writeGen ?? 0) + 1;
  for (const bitmap of bs.dirtyBitmaps ?? []) bitmap.truncate(length);
}

/**
 * file-posix's `raw_co_truncate` on a regular file (`raw_regular_truncate` → `handle_aiocb_truncate`):
 * always to exactly `offset`. `falloc` allocates the new part (posix_fallocate); it and `off` then
 * write the first block of a file that was empty, as allocate_first_block does for the alignment probe;
 * `full` writes zeros over it and syncs. Both fail only past ext4's largest file, before anything
 * changed (QEMU's truncate back to the old length then changes nothing either). Then the node's
 * length is the file's, in whole sectors.
 */
export function fileTruncate(host: DriverHost, node: BdsNode, absPath: string, offset: number, prealloc: PreallocMode): void {
  const file = host.hostFiles.get(absPath);
  const current = file.length;
  if (current > offset && prealloc !== "off") failErrno("Cannot use preallocation for shrinking files", Errno.ENOTSUP);
  const tooLarge = offset > EXT4_MAX_FILE_SIZE;
  switch (prealloc) {
    case "falloc":
      if (offset !== current) {
        if (tooLarge) failErrno("Could not preallocate new data: File too large", Errno.EFBIG);
        if (file.allocate) file.allocate(current, offset - current);
        else file.write(current, Data.zeros(offset - current));
        if (current === 0) file.write(0, Data.zeros(offset < FIRST_BLOCK ? 512 : FIRST_BLOCK));
      }
      break;
    case "full":
      if (tooLarge) failErrno("Could not resize file: File too large", Errno.EFBIG);
      file.truncate(offset);
      file.write(current, Data.zeros(offset - current));
      file.sync?.();
      break;
    case "off":
      if (tooLarge) failErrno("Could not resize file: File too large", Errno.EFBIG);
      file.truncate(offset);
      // An empty file that grows gets its first block written, as with falloc.
      if (current === 0 && offset > 0) file.write(0, Data.zeros(offset < FIRST_BLOCK ? 512 : FIRST_BLOCK));
      break;
    default:
      failErrno(`Unsupported preallocation mode: ${prealloc}`, Errno.ENOTSUP);
  }
  node.size = Math.ceil(offset / 512) * 512;
}

/** raw-format's `raw_co_truncate`: a window with a size cannot change; otherwise the file grows with it. */
export function rawTruncate(
  host: DriverHost,
  node: BdsNode,
  window: { offset: number; hasSize: boolean },
  offset: number,
  exact: boolean,
  prealloc: PreallocMode,
  flags: number,
): void {
  if (window.hasSize) failErrno("Cannot resize fixed-size raw disks", Errno.ENOTSUP);
  const windowOffset = window.offset;
  if (BDRV_MAX_LENGTH - offset < windowOffset) failErrno("Disk size too large for the chosen offset", Errno.EINVAL);
  node.size = offset;
  bdrvTruncate(host, childNamed(node, "file")!.bs, offset + windowOffset, exact, prealloc, flags);
}
