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
import { backingChainNext } from "../chain.js";
import { bdrvPreadv, bdrvPwritev, bdrvPwriteZeroes, maxTransferOf } from "./block-io.js";
import { blockStatusAbove } from "./block-status.js";
import { InjectedIoError, IoError } from "./io-error.js";
import { BDRV_BLOCK_ALLOCATED, BDRV_BLOCK_ZERO, BDRV_REQ_WRITE_COMPRESSED, BDRV_REQ_WRITE_UNCHANGED } from "./request-flags.js";

/** BLOCK_COPY_MAX_BUFFER: the COPY_READ_WRITE method's chunk. */
const MAX_BUFFER = 1 << 20;

/**
 * What a backup job gives the copy state: its progress meter (block_copy_set_progress_meter), and
 * its rate limit (block_copy_set_speed), which every copy counts against.
 */
export interface CopyMeter {
  progressUpdate(done: number): void;
  progressSetRemaining(remaining: number): void;
  /** `ratelimit_calculate_delay(&s->rate_limit, bytes)`: the delay is the background copy's to wait. */
  dispatch(bytes: number): number;
}

/** What the copy needs of BDRVCopyBeforeWriteState and its BlockCopyState. */
export interface CbwIoState {
  /**
   * The filter's `file` edge (s->source): copies read from whatever node it leads to now (another
   * filter inserted above the source since takes the edge over).
   */
  sourceChild: Child;
  /** The node the copy bitmap was made on (the source when the filter opened), which releases it. */
  copyBitmapNode: BdsNode;
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
  /** s->skip_unallocated: while a sync=top backup clears what the top does not hold, that is not copied. */
  skipUnallocated: boolean;
  /** block_copy_set_copy_opts' compress: cluster-sized compressed writes. */
  compress: boolean;
  /**
   * s->max_transfer: the smaller of the source's and the target's bl.max_transfer when the state
   * was made, down to whole clusters (INT_MAX's when neither has one).
   */
  maxTransfer: number;
  /** Set while a backup job runs on the filter. */
  meter?: CopyMeter;
}

/** A BlockCopyTask: a run of clusters taken out of the copy bitmap. */
export interface CopyTask {
  offset: number;
  bytes: number;
  /** COPY_WRITE_ZEROES: the source reads as zeros there. */
  zero: boolean;
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

/**
 * `block_copy_block_status`: whether the chunk reads as zeros and is allocated (above the source's
 * backing file while unallocated parts are skipped), and how much of it is alike (whole clusters).
 */
function sourceStatus(host: DriverHost, s: CbwIoState, offset: number, bytes: number): { zero: boolean; allocated: boolean; bytes: number } {
  const base = s.skipUnallocated ? backingChainNext(s.sourceChild.bs) : null;
  let r: { status: number; pnum: number };
  try {
    r = blockStatusAbove(host, s.sourceChild.bs, base, false, true, offset, bytes);
  } catch (e) {
    // A failed block status (a snapshot-access node over a driver without the snapshot API) is
    // one cluster of data to copy, as is an answer shorter than a cluster.
    if (!(e instanceof IoError)) throw e;
    r = { status: 0, pnum: 0 };
  }
  if (r.pnum < s.clusterSize) return { zero: false, allocated: true, bytes: s.clusterSize };
  const num = offset + r.pnum === s.len ? alignUp(r.pnum, s.clusterSize) : alignDown(r.pnum, s.clusterSize);
  return { zero: (r.status & BDRV_BLOCK_ZERO) !== 0, allocated: (r.status & BDRV_BLOCK_ALLOCATED) !== 0, bytes: num };
}

/**
 * `block_copy_chunk_size`, then the call's max-chunk where it has one (MIN_NON_ZERO): a cluster
 * when compressing or when max_transfer is below a cluster (COPY_READ_WRITE_CLUSTER), else the
 * read/write method's buffer within max_transfer.
 */
function chunkSize(s: CbwIoState, maxChunk: number): number {
  const chunk = s.compress || s.maxTransfer < s.clusterSize ? s.clusterSize : Math.min(Math.max(s.clusterSize, MAX_BUFFER), s.maxTransfer);
  return maxChunk > 0 ? Math.min(chunk, maxChunk) : chunk;
}

const INT_MAX = 2 ** 31 - 1;

/** `block_copy_max_transfer` aligned down to `clusterSize`, as block_copy_state_new keeps it. */
export function blockCopyMaxTransfer(source: BdsNode, target: BdsNode, clusterSize: number): number {
  const minNonZero = (a: number, b: number) => (a && b ? Math.min(a, b) : a || b);
  const max = minNonZero(INT_MAX, minNonZero(maxTransferOf(source), maxTransferOf(target)));
  return Math.floor(max / clusterSize) * clusterSize;
}

/**
 * `block_copy_task_create` and the block status that follows it in `block_copy_dirty_clusters`:
 * the next dirty run in [offset, end) taken out of the bitmap and shrunk to what is alike (the rest
 * dirty again). `skipped` when it is unallocated while those parts are skipped (then it is done).
 */
export function nextCopyTask(host: DriverHost, s: CbwIoState, offset: number, end: number, maxChunk = 0): { task: CopyTask; skipped: boolean } | undefined {
  const area = nextDirtyArea(s.copyBitmap, offset, end, chunkSize(s, maxChunk));
  if (!area) return undefined;
  let bytes = alignUp(area.bytes, s.clusterSize);
  s.copyBitmap.reset(area.offset, bytes);
  const status = sourceStatus(host, s, area.offset, bytes);
  if (status.bytes < bytes) {
    s.copyBitmap.set(area.offset + status.bytes, bytes - status.bytes);
    bytes = status.bytes;
  }
  const task = { offset: area.offset, bytes, zero: status.zero };
  if (s.skipUnallocated && !status.allocated) {
    copyTaskEnd(s, task, 0);
    return { task, skipped: true };
  }
  return { task, skipped: false };
}

/** `block_copy_task_end`: a failed (or postponed) task's clusters are to be copied again. */
export function copyTaskEnd(s: CbwIoState, task: CopyTask, ret: number): void {
  if (ret < 0) s.copyBitmap.set(task.offset, task.bytes);
  s.meter?.progressSetRemaining(s.copyBitmap.count());
}

/** `block_copy_task_entry` over `block_copy_do_copy`: 0 or -errno, and whether the read failed. */
export function runCopyTask(host: DriverHost, s: CbwIoState, task: CopyTask): CopyTaskResult {
  const nbytes = Math.min(task.offset + task.bytes, s.len) - task.offset;
  let isRead = false;
  let ret = 0;
  let failsLater = false;
  const laterReads = host.laterReads;
  try {
    if (task.zero) bdrvPwriteZeroes(host, s.targetChild.bs, task.offset, nbytes, 0, s.targetChild);
    else {
      isRead = true;
      const data = bdrvPreadv(host, s.sourceChild.bs, task.offset, nbytes, 0);
      isRead = false;
      bdrvPwritev(host, s.targetChild.bs, task.offset, data, s.compress ? BDRV_REQ_WRITE_COMPRESSED : 0, s.targetChild);
    }
  } catch (e) {
    if (!(e instanceof IoError)) throw e;
    ret = -e.errno;
    failsLater = host.laterReads > laterReads || (e instanceof InjectedIoError && !e.immediately);
  }
  if (ret === 0) s.meter?.progressUpdate(task.bytes);
  copyTaskEnd(s, task, ret);
  return { ret, isRead, failsLater };
}

/** What a block-copy task did: 0 or -errno, whether a read failed, and whether its caller sees that only once it waited. */
export interface CopyTaskResult {
  ret: number;
  isRead: boolean;
  /**
   * The task failed after its first wait (a read from the thread pool, a blkdebug failure that is
   * not `immediately`): block_copy_dirty_clusters has gone on starting tasks meanwhile, until its
   * pool's workers were all busy (aio_task_pool_wait_slot), and sees the failure only then.
   */
  failsLater: boolean;
}

/** BLOCK_COPY_MAX_WORKERS: the tasks a block_copy call runs at once (a backup job's x-perf max-workers overrides it). */
export const BLOCK_COPY_MAX_WORKERS = 64;

/**
 * When a pass of `block_copy_dirty_clusters` sees a failed task: a task that fails before its first
 * wait stops the pass at once; one that fails later, once `maxWorkers` tasks have been started.
 */
export class CopyPassFailure {
  #started = 0;
  #pending = 0;

  constructor(private readonly maxWorkers: number) {}

  /** A task has run with result `r`: the pass's -errno if it stops now, else 0. */
  after(r: CopyTaskResult): number {
    this.#started++;
    if (r.ret < 0 && !r.failsLater) return r.ret;
    if (r.ret < 0 && !this.#pending) this.#pending = r.ret;
    return this.#pending && this.#started >= this.maxWorkers ? this.#pending : 0;
  }

  /** The pass's -errno once no task is left to start. */
  get ret(): number {
    return this.#pending;
  }
}

/** `block_copy` of [offset, offset + bytes), cluster-aligned, ignoring the rate limit: 0 or the first failed task's -errno. */
function blockCopy(host: DriverHost, s: CbwIoState, offset: number, bytes: number): number {
  const end = offset + bytes;
  const pass = new CopyPassFailure(BLOCK_COPY_MAX_WORKERS);
  while (offset < end) {
    const next = nextCopyTask(host, s, offset, end);
    if (!next) break;
    offset = next.task.offset + next.task.bytes;
    if (next.skipped) continue;
    s.meter?.dispatch(next.task.bytes);
    const failed = pass.after(runCopyTask(host, s, next.task));
    if (failed < 0) return failed;
  }
  return pass.ret;
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
  // The done bitmap is as long as the source was when the filter opened; a write past that end
  // (the source grew below a format node) aborts QEMU 7.2 here.
  else s.doneBitmap.set(off, end - off);
}
