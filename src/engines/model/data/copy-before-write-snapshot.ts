/**
 * copy-before-write's snapshot API (block/copy-before-write.c, QEMU 7.2), which a snapshot-access
 * node reads: the source as it was when the filter opened. A range is readable only while the
 * access bitmap covers it (a snapshot discard takes it out) and the snapshot is not broken (a
 * failed copy under on-cbw-error=break-snapshot); otherwise -EACCES. What a guest write has
 * already copied (the done bitmap) is read from the target, the rest from the source.
 */
import type { BlockStatusAnswer, DriverHost } from "../drivers/driver.js";
import type { Child } from "../graph.js";
import type { DirtyBitmap } from "../jobs/dirty-bitmap.js";
import { bdrvPdiscard, bdrvPreadv } from "./block-io.js";
import { blockStatusAbove } from "./block-status.js";
import type { CbwIoState } from "./copy-before-write-io.js";
import { Data } from "./data.js";
import { Errno, ioFail } from "./io-error.js";
import { qemuAssert } from "../qemu-would-crash.js";
import { filterOrCowBs } from "../chain.js";

/** The filter's state the snapshot needs besides the copy's: s->access_bitmap. */
export interface CbwSnapshotState extends CbwIoState {
  accessBitmap: DirtyBitmap;
}

/** `hbitmap_next_zero` / `hbitmap_next_dirty` over bytes: the first byte in [offset, offset+bytes) whose bit is `bit`, else -1. */
function nextWith(bitmap: DirtyBitmap, bit: boolean, offset: number, bytes: number): number {
  const g = bitmap.granularity;
  for (let at = offset; at < offset + bytes; at = (Math.floor(at / g) + 1) * g) {
    if (bitmap.get(at) === bit) return at;
  }
  return -1;
}

/**
 * `hbitmap_status`: whether the bit at `offset` is set, and how far that lasts (at most `bytes`).
 * QEMU 7.2 answers "not set" for a set run that a clear bit ends within the range (fixed after
 * 7.2): a snapshot read that spans a copied cluster and then an uncopied one reads the copied
 * cluster from the source, as it is now.
 */
function bitmapStatus(bitmap: DirtyBitmap, offset: number, bytes: number): { set: boolean; pnum: number } {
  const set = bitmap.get(offset);
  const next = nextWith(bitmap, !set, offset, bytes);
  if (next === -1) return { set, pnum: bytes };
  return { set: false, pnum: next - offset };
}

/** `cbw_snapshot_read_lock`: the child to read `offset` from and for how long, or -EACCES. */
function readLock(s: CbwSnapshotState, offset: number, bytes: number): { child: Child; pnum: number } {
  if (s.snapshotError) ioFail(Errno.EACCES);
  if (nextWith(s.accessBitmap, false, offset, bytes) !== -1) ioFail(Errno.EACCES);
  const done = bitmapStatus(s.doneBitmap, offset, bytes);
  return { child: done.set ? s.targetChild : s.sourceChild, pnum: done.pnum };
}

/** `cbw_co_preadv_snapshot`: piece by piece, from the target or the source. */
export function cbwPreadvSnapshot(host: DriverHost, s: CbwSnapshotState, offset: number, bytes: number): Data {
  const parts: Data[] = [];
  while (bytes) {
    const { child, pnum } = readLock(s, offset, bytes);
    parts.push(bdrvPreadv(host, child.bs, offset, pnum));
    bytes -= pnum;
    offset += pnum;
  }
  return Data.concat(parts);
}

/** `cbw_co_snapshot_block_status`: the block status of the child the range is read from (bdrv_block_status, want_zero). */
export function cbwSnapshotBlockStatus(host: DriverHost, s: CbwSnapshotState, offset: number, bytes: number): BlockStatusAnswer {
  const { child, pnum } = readLock(s, offset, bytes);
  const r = blockStatusAbove(host, child.bs, filterOrCowBs(child.bs), false, true, offset, pnum);
  return { status: r.status, pnum: r.pnum, map: r.map, file: r.file };
}

/** `hbitmap_reset`'s assertions: a range of whole chunks, or one up to the bitmap's end. */
function checkedReset(bitmap: DirtyBitmap, offset: number, bytes: number): void {
  if (bytes === 0) return;
  const g = bitmap.granularity;
  if (offset % g) qemuAssert(HBITMAP_RESET(569), "QEMU_IS_ALIGNED(start, gran)");
  if (bytes % g && offset + bytes !== bitmap.size) qemuAssert(HBITMAP_RESET(570), "QEMU_IS_ALIGNED(count, gran) || (start + count == hb->orig_size)");
  bitmap.reset(offset, bytes);
}

const HBITMAP_RESET = (line: number) => ({ file: "../../util/hbitmap.c", line, func: "hbitmap_reset" });

/**
 * `cbw_co_pdiscard_snapshot`: the range leaves the snapshot (the access bitmap) and the copy
 * (block_copy_reset), and is discarded on the target. QEMU 7.2 does not round it to whole
 * clusters first (later versions do): a range that does not cover whole clusters fails
 * hbitmap_reset's assertions.
 */
export function cbwPdiscardSnapshot(host: DriverHost, s: CbwSnapshotState, offset: number, bytes: number): void {
  checkedReset(s.accessBitmap, offset, bytes);
  checkedReset(s.copyBitmap, offset, bytes);
  s.meter?.progressSetRemaining(s.copyBitmap.count());
  bdrvPdiscard(host, s.targetChild.bs, offset, bytes);
}
