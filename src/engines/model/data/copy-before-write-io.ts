/**
 * copy-before-write's data path (block/copy-before-write.c over block/block-copy.c): before a
 * write, zero write or discard changes the source (`file`), every block-copy cluster it touches that
 * was not copied yet is copied to `target` — read from the source and written, or written as zeros
 * where the source reads as zeros — in chunks of contiguous clusters (at most 1 MiB, the read/write
 * method's chunk, as copy_range is off). A failed copy fails the guest write
 * (on-cbw-error=break-guest-write, the default) or breaks the snapshot and lets the write and all
 * later ones through uncopied (break-snapshot). Requests the guest marks WRITE_UNCHANGED copy nothing.
 *
 * QEMU runs the chunks as parallel tasks; the model runs them in order, which is the order their
 * requests reach the target when each completes before the next starts.
 */
import type { DriverHost } from "../drivers/driver.js";
import type { BdsNode, Child } from "../graph.js";
import type { DirtyBitmap } from "../jobs/dirty-bitmap.js";
import { bdrvPreadv, bdrvPwritev, bdrvPwriteZeroes } from "./block-io.js";
import { blockStatusAbove } from "./block-status.js";
import { IoError } from "./io-error.js";
import { BDRV_BLOCK_ZERO, BDRV_REQ_WRITE_UNCHANGED } from "./request-flags.js";

/** BLOCK_COPY_MAX_BUFFER: the COPY_READ_WRITE method's chunk. */
const MAX_BUFFER = 1 << 20;

/** What the copy needs of BDRVCopyBeforeWriteState and its BlockCopyState. */
export interface CbwIoState {
  source: BdsNode;
  target: BdsNode;
  /** The filter's edge to the target, whose permissions block-copy's writes go by. */
  targetChild: Child;
  clusterSize: number;
  /** s->len: the source's length when the filter opened. */
  len: number;
  copyBitmap: DirtyBitmap;
  doneBitmap: DirtyBitmap;
  onCbwError: "break-guest-write" | "break-snapshot";
  /** s->snapshot_error: once set, nothing is copied any more. */
  snapshotError: number;
}

const alignDown = (x: number, a: number) => Math.floor(x / a) * a;
const alignUp = (x: number, a: number) => Math.ceil(x / a) * a;

/** `bdrv_dirty_bitmap_next_dirty_area`: the first dirty run in [start, end), at most `max` bytes. */
function nextDirtyArea(bitmap: DirtyBitmap, start: number, end: number, max: number): { offset: number; bytes: number } | undefined {
  end = Math.min(end, bitmap.size);
  const first = bitmap.next(start);
  if (first === undefined || first >= end) return undefined;
  let stop = first;
  while (stop < end && stop - first < max && bitmap.get(stop)) stop += bitmap.granularity;
  return { offset: first, bytes: Math.min(stop, end) - first };
}

/** `block_copy_block_status`: whether the chunk reads as zeros, and how much of it is alike (whole clusters). */
function sourceStatus(host: DriverHost, s: CbwIoState, offset: number, bytes: number): { zero: boolean; bytes: number } {
  const r = blockStatusAbove(host, s.source, null, false, true, offset, bytes);
  if (r.pnum < s.clusterSize) return { zero: false, bytes: s.clusterSize };
  const num = offset + r.pnum === s.len ? alignUp(r.pnum, s.clusterSize) : alignDown(r.pnum, s.clusterSize);
  return { zero: (r.status & BDRV_BLOCK_ZERO) !== 0, bytes: num };
}

/** `block_copy_do_copy`: 0 or -errno. */
function doCopy(host: DriverHost, s: CbwIoState, offset: number, bytes: number, zero: boolean): number {
  const nbytes = Math.min(offset + bytes, s.len) - offset;
  try {
    if (zero) bdrvPwriteZeroes(host, s.target, offset, nbytes, 0, s.targetChild);
    else bdrvPwritev(host, s.target, offset, bdrvPreadv(host, s.source, offset, nbytes, 0), 0, s.targetChild);
    return 0;
  } catch (e) {
    if (e instanceof IoError) return -e.errno;
    throw e;
  }
}

/** `block_copy` of [offset, offset + bytes), cluster-aligned: 0 or the first task's -errno. */
function blockCopy(host: DriverHost, s: CbwIoState, offset: number, bytes: number): number {
  const end = offset + bytes;
  let ret = 0;
  while (offset < end) {
    // block_copy_task_create: the next dirty run, taken out of the bitmap.
    const area = nextDirtyArea(s.copyBitmap, offset, end, Math.max(s.clusterSize, MAX_BUFFER));
    if (!area) break;
    let taskBytes = alignUp(area.bytes, s.clusterSize);
    s.copyBitmap.reset(area.offset, taskBytes);
    const status = sourceStatus(host, s, area.offset, taskBytes);
    if (status.bytes < taskBytes) {
      // block_copy_task_shrink: the rest waits for the next task.
      s.copyBitmap.set(area.offset + status.bytes, taskBytes - status.bytes);
      taskBytes = status.bytes;
    }
    const r = doCopy(host, s, area.offset, taskBytes, status.zero);
    if (r < 0) {
      // block_copy_task_end: the clusters are to be copied again; the call stops at the first error.
      s.copyBitmap.set(area.offset, taskBytes);
      if (!ret) ret = r;
      break;
    }
    offset = area.offset + taskBytes;
  }
  return ret;
}

/**
 * `cbw_do_copy_before_write`: throws the copy's IoError when it may break the guest write; with
 * break-snapshot the first error is kept and the write goes on.
 */
export function copyBeforeWrite(host: DriverHost, s: CbwIoState, offset: number, bytes: number, flags: number): void {
  if (flags & BDRV_REQ_WRITE_UNCHANGED || s.snapshotError) return;
  const off = alignDown(offset, s.clusterSize);
  const end = alignUp(offset + bytes, s.clusterSize);
  const ret = blockCopy(host, s, off, end - off);
  if (ret < 0 && s.onCbwError === "break-guest-write") throw new IoError(-ret);
  if (ret < 0) s.snapshotError ||= ret;
  else s.doneBitmap.set(off, end - off);
}
