/**
 * `mirror_run` (block/mirror.c), the mirror job's coroutine: mark what must be copied in the dirty
 * bitmap (`mirror_dirty_init`), copy it chunk by chunk (`mirror_iteration`), then go READY and
 * keep the target in sync, sleeping a time slice at a time, until block-job-complete or a cancel;
 * to finish it drains the source (from inside the coroutine: through a bottom half, as QEMU's
 * `bdrv_co_yield_to_drain` does).
 *
 * The model does no I/O: each read, write, zero write or discard completes at once, so no request
 * is ever in flight when the loop looks. Which chunks are dirty and in which pieces they are
 * handed out follows QEMU (granularity, buffer size, block status of the source — all unallocated
 * or all data, see block-status.ts); the length reported at READY and completion is the same as
 * QEMU's. How many main-loop turns it takes is the model's own.
 */
import { bdrvDrainedBegin, bdrvDrainedEnd } from "../drain.js";
import { nodeLength } from "../node-length.js";
import type { Coroutine } from "./coroutine.js";
import { bdrvFlush, bdrvPdiscard, bdrvPreadv, bdrvPwritev, blkPwriteZeroes } from "../data/block-io.js";
import type { Data } from "../data/data.js";
import { BDRV_REQ_MAY_UNMAP } from "../data/request-flags.js";
import { bdrvTruncate } from "../data/truncate.js";
import { catchIoError, catchTruncateError } from "./block-job.js";
import { IoError } from "../data/io-error.js";
import { verdictAfterReply } from "../data/request-waits.js";
import { blockStatusData, isAllocatedAbove } from "./block-status.js";
import type { MirrorJob } from "./mirror.js";
import { BLOCK_JOB_SLICE_TIME_NS } from "./ratelimit.js";
import { QemuAbort, qemuAssert } from "../qemu-would-crash.js";

/** MAX_IO_BYTES: the largest piece of data one request copies. */
const MAX_IO_BYTES = 1 << 20;
/** MAX_IN_FLIGHT. */
const MAX_IN_FLIGHT = 16;
/** `bdrv_dirty_bitmap` walks by at most INT_MAX bytes, aligned down to the granularity. */
const INT_MAX = 2 ** 31 - 1;

/** `bdrv_drained_begin` called in the job's coroutine: done by a bottom half while the job waits (busy). */
function* coDrainedBegin(s: MirrorJob): Coroutine {
  const co = s.co!;
  s.state.loop.scheduleBh(() => {
    s.sourceDrained = bdrvDrainedBegin(s.state, s.source());
    co.next();
  });
  yield;
}

/** `bdrv_drained_end` of that section, from the coroutine: through a bottom half too. */
function* coDrainedEnd(s: MirrorJob): Coroutine {
  const co = s.co!;
  s.state.loop.scheduleBh(() => {
    if (s.sourceDrained) bdrvDrainedEnd(s.source());
    s.sourceDrained = false;
    co.next();
  });
  yield;
}

/**
 * `mirror_flush` → `blk_flush(target)`: only what was written since the last flush goes to the
 * disk (bdrv_co_flush compares write generations), and then the coroutine waits for the thread pool.
 * A failed flush takes the target's error action (a write's), and under `report` ends the job with
 * its error (s->ret); the caller goes round its loop again. Returns 0 or -errno.
 */
function* mirrorFlush(s: MirrorJob): Coroutine<number> {
  try {
    bdrvFlush(s.state, s.targetBs());
  } catch (e) {
    if (!(e instanceof IoError)) throw e;
    const ret = -e.errno;
    if (s.errorAction(false, ret) === "report" && s.requestRet >= 0) s.requestRet = ret;
    return ret;
  }
  if (!s.targetWritten) return 0;
  s.targetWritten = false;
  yield* s.ioWait();
  return 0;
}

/** `mirror_throttle`: a sleep every time slice, else just a pause point. */
function* mirrorThrottle(s: MirrorJob): Coroutine {
  const now = s.state.loop.nowNs;
  if (now - s.lastPauseNs > BLOCK_JOB_SLICE_TIME_NS) {
    s.lastPauseNs = now;
    yield* s.sleepNs(0);
  } else {
    yield* s.pausePoint();
  }
}

/** `mirror_dirty_init`: the whole disk when the target cannot be zeroed cheaply, else what is allocated above base. */
function* mirrorDirtyInit(s: MirrorJob): Coroutine<number> {
  const bs = s.source();
  const step = Math.floor(INT_MAX / s.granularity) * s.granularity;
  if (s.zeroTarget) {
    if (!s.targetCanZeroWithUnmap()) {
      s.dirty.set(0, s.bdevLength);
      return 0;
    }
    // Zeroing the target first (mirror_perform, MIRROR_METHOD_ZERO): the requests complete at
    // once, and no progress is counted for them.
    for (let offset = 0; offset < s.bdevLength; ) {
      const bytes = Math.min(s.bdevLength - offset, step);
      yield* mirrorThrottle(s);
      if (s.isCancelled()) return 0;
      const { ret } = mirrorCoZero(s, offset, bytes);
      if (ret < 0) return ret;
      offset += bytes;
    }
  }
  for (let offset = 0; offset < s.bdevLength; ) {
    const bytes = Math.min(s.bdevLength - offset, step);
    yield* mirrorThrottle(s);
    if (s.isCancelled()) return 0;
    const status = yield* isAllocatedAbove(s, bs, s.baseOverlay, true, offset, bytes);
    if (status.ret < 0) return status.ret;
    // Nothing answers past the end of a node whose length outgrew what is below it (a filter
    // whose file a reopen swapped for a shorter node keeps its old length).
    if (status.n === 0) qemuAssert({ file: "../../block/mirror.c", line: 871, func: "mirror_dirty_init" }, "count");
    if (status.allocated) s.dirty.set(offset, status.n);
    offset += status.n;
  }
  return 0;
}

type MirrorMethod = "copy" | "zero" | "discard";

/** How a request of mirror_perform ended: `ret` < 0 ends the job; a failed one is no progress. */
interface RequestOutcome {
  failed: boolean;
  ret: number;
}

const DONE: RequestOutcome = { failed: false, ret: 0 };

/** `mirror_co_zero`: zeros into the target, unmapping them where `unmap` lets it. */
function mirrorCoZero(s: MirrorJob, offset: number, bytes: number): RequestOutcome {
  const ret = catchIoError(() => blkPwriteZeroes(s.state, s.targetBs(), offset, bytes, s.unmap ? BDRV_REQ_MAY_UNMAP : 0));
  return ret < 0 ? { failed: true, ret: requestFailed(s, false, offset, bytes, ret) } : DONE;
}

/**
 * `mirror_read_complete` and `mirror_write_complete` of a failed request: its range is dirty
 * again, and the job's error policy decides. Returns `ret` when the job is to end with it
 * (report), 0 when the range waits for a later iteration (stop, ignore).
 */
function requestFailed(s: MirrorJob, isRead: boolean, offset: number, bytes: number, ret: number): number {
  s.dirty.set(offset, bytes);
  s.activelySynced = false;
  if (s.errorAction(isRead, ret) !== "report") return 0;
  if (s.requestRet >= 0) s.requestRet = ret;
  return ret;
}

/**
 * A copy whose read went to the thread pool: its write waits for the read's completion, and so
 * does the exit of a driver that compared what it read.
 */
type PendingCopy = { offset: number; data: Data } | { offset: number; verdict: QemuAbort };

/**
 * `mirror_perform` of one request: a copy reads the source below mirror_top and writes the
 * target (`mirror_co_read`, `mirror_read_complete`), a zero or discard only touches the target.
 * A read from a host file completes later (its write is queued in `pending`), any other at once.
 * A failed request is dirty again, and ends the job with its error under the `report` policy.
 */
function mirrorPerform(s: MirrorJob, offset: number, bytes: number, method: MirrorMethod, readsHostFile: boolean, pending: PendingCopy[]): RequestOutcome {
  if (method === "zero") return mirrorCoZero(s, offset, bytes);
  let isRead = method === "copy";
  const ret = catchIoError(() => {
    if (method === "discard") {
      bdrvPdiscard(s.state, s.targetBs(), offset, bytes);
      return;
    }
    let data: Data;
    const laterBefore = s.state.laterReads;
    try {
      data = bdrvPreadv(s.state, s.source(), offset, bytes);
    } catch (e) {
      // A comparing driver's verdict (blkverify's, quorum's exit(1)) comes once the reads it
      // compares are back (from the thread pool, say): after the iteration's wait when more than
      // one of them waited.
      if (verdictAfterReply(s.state.laterReads - laterBefore) && e instanceof QemuAbort && e.exitCode !== undefined) {
        pending.push({ offset, verdict: e });
        return;
      }
      throw e;
    }
    if (readsHostFile) {
      pending.push({ offset, data });
      return;
    }
    isRead = false;
    bdrvPwritev(s.state, s.targetBs(), offset, data);
  });
  return ret < 0 ? { failed: true, ret: requestFailed(s, isRead, offset, bytes, ret) } : DONE;
}

/**
 * The reads an iteration sent to the thread pool complete together, after it: the pool's
 * completion bottom half takes finished requests newest first (thread_pool_completion_bh walks a
 * list that submissions prepend to), so their writes, and the target clusters they allocate, come
 * in the reverse order of the reads. Each is counted as progress once its write succeeded
 * (mirror_iteration_done); one that fails is not, and the others still complete. The first
 * failure is the job's.
 */
function completeCopies(s: MirrorJob, pending: PendingCopy[]): number {
  let first = 0;
  for (const op of pending.reverse()) {
    if ("verdict" in op) throw op.verdict;
    const ret = catchIoError(() => bdrvPwritev(s.state, s.targetBs(), op.offset, op.data));
    if (ret < 0) {
      const reported = requestFailed(s, false, op.offset, op.data.length, ret);
      if (first === 0) first = reported;
      continue;
    }
    s.progressUpdate(op.data.length);
  }
  return first;
}

/**
 * `mirror_iteration`: take the first dirty chunk and the dirty chunks after it (up to the buffer
 * size), clear them, and hand them out in pieces; returns the rate limit delay.
 */
function* mirrorIteration(s: MirrorJob): Coroutine<number> {
  let offset = s.dirty.next(s.iterOffset) ?? s.dirty.next(0)!;
  yield* s.pausePoint();
  let nbChunks = 1;
  while (nbChunks * s.granularity < s.bufSize) {
    const nextOffset = offset + nbChunks * s.granularity;
    if (nextOffset >= s.bdevLength || !s.dirty.get(nextOffset)) break;
    nbChunks++;
  }
  s.dirty.reset(offset, nbChunks * s.granularity);
  const writeZeroesOk = s.targetCanZeroWithUnmap();
  const maxIoBytes = Math.max(s.bufSize / MAX_IN_FLIGHT, MAX_IO_BYTES);
  let delayNs = 0;
  const pending: PendingCopy[] = [];
  // The iteration's reads go to the thread pool as it hands them out, and it asks the block status
  // of the next piece before a worker has read: their readahead lands after (page-cache.ts).
  const readahead: Array<() => void> = [];
  while (nbChunks > 0 && offset < s.bdevLength) {
    const status = yield* blockStatusData(s, s.source(), offset, nbChunks * s.granularity);
    // A failed block status copies as much as the chunks allow.
    let ioBytes = status.ret < 0 ? Math.min(nbChunks * s.granularity, maxIoBytes) : status.data ? Math.min(status.n, maxIoBytes) : status.n;
    ioBytes -= ioBytes % s.granularity;
    let method: MirrorMethod = "copy";
    if (ioBytes < s.granularity) ioBytes = s.granularity;
    else if (status.ret >= 0 && !status.data && s.alignedToTargetClusters(offset, ioBytes)) method = status.zero ? "zero" : "discard";
    ioBytes = Math.min(ioBytes, s.bdevLength - offset);
    const queued = pending.length;
    s.state.deferCompletions = readahead;
    let outcome: RequestOutcome;
    try {
      outcome = mirrorPerform(s, offset, ioBytes, method, status.inHostFile, pending);
    } finally {
      s.state.deferCompletions = undefined;
    }
    if (outcome.ret < 0) {
      for (const read of readahead) read();
      return outcome.ret;
    }
    // A copy whose write waits for its read counts when the write is done (completeCopies).
    if (pending.length === queued && !outcome.failed) s.progressUpdate(ioBytes);
    s.targetWritten = true;
    const acct = method !== "copy" && writeZeroesOk ? 0 : ioBytes;
    offset += ioBytes;
    nbChunks -= Math.ceil(ioBytes / s.granularity);
    delayNs = s.ratelimitDelay(acct);
  }
  s.iterOffset = offset;
  // The coroutine waits for the thread pool's reads before it writes what they gave.
  if (pending.length > 0) yield* s.ioWait();
  for (const read of readahead) read();
  const ret = completeCopies(s, pending);
  return ret < 0 ? ret : delayNs;
}

export function* mirrorRun(s: MirrorJob): Coroutine<number> {
  let needDrain = true;
  let ret = 0;
  run: {
    if (s.isCancelled()) break run;
    s.bdevLength = nodeLength(s.source());
    const targetLength = nodeLength(s.targetBs());
    if (s.base === s.targetBs()) {
      // Active commit grows a smaller base to the top's size (blk_co_truncate, preallocation off).
      if (s.bdevLength > targetLength) {
        ret = catchTruncateError(() => bdrvTruncate(s.state, s.targetBs(), s.bdevLength, false, "off", 0));
        if (ret < 0) break run;
      }
    } else if (s.bdevLength !== targetLength) {
      s.err = "Source and target image have different sizes";
      ret = -22;
      break run;
    }
    if (s.bdevLength === 0) {
      s.transitionToReady();
      s.activelySynced = true;
      while (!s.cancelRequested() && !s.shouldComplete) yield* s.yieldUntilEntered();
      break run;
    }
    s.lastPauseNs = s.state.loop.nowNs;
    if (!s.isNoneMode) {
      ret = yield* mirrorDirtyInit(s);
      if (ret < 0 || s.isCancelled()) break run;
    }
    for (;;) {
      // A request failed since the last turn (a write the filter copied to the target).
      if (s.requestRet < 0) {
        ret = s.requestRet;
        break run;
      }
      yield* s.pausePoint();
      if (s.isCancelled()) {
        ret = 0;
        break run;
      }
      let cnt = s.dirty.count();
      s.progressSetRemaining(cnt);
      let delayNs = 0;
      const delta = s.state.loop.nowNs - s.lastPauseNs;
      // A job that an error stopped copies nothing until the user resumes it.
      if (delta < BLOCK_JOB_SLICE_TIME_NS && cnt !== 0 && s.iostatus === "ok") {
        delayNs = yield* mirrorIteration(s);
        // A request failed (s->ret): the job ends with its error.
        if (delayNs < 0) {
          ret = delayNs;
          break run;
        }
      }
      let shouldComplete = false;
      // cnt is still the count from before this turn's iteration: READY comes a turn later.
      if (cnt === 0) {
        if (!s.isReady()) {
          // A failed flush: round again, where s->ret or the stopped job is seen.
          if ((yield* mirrorFlush(s)) < 0) continue;
          s.transitionToReady();
          if (s.copyMode !== "background") s.activelySynced = true;
        }
        shouldComplete = s.shouldComplete || s.cancelRequested();
        cnt = s.dirty.count();
      }
      if (cnt === 0 && shouldComplete) {
        // Stop the guest's I/O for the switch-over; then the disks are in sync.
        s.inDrain = true;
        yield* coDrainedBegin(s);
        cnt = s.dirty.count();
        if (cnt > 0 || (yield* mirrorFlush(s)) < 0) {
          yield* coDrainedEnd(s);
          s.inDrain = false;
          continue;
        }
        needDrain = false;
        break;
      }
      if (s.isReady() && !shouldComplete) delayNs = cnt === 0 ? BLOCK_JOB_SLICE_TIME_NS : 0;
      yield* s.sleepNs(delayNs);
      s.lastPauseNs = s.state.loop.nowNs;
    }
  }
  if (needDrain) {
    s.inDrain = true;
    yield* coDrainedBegin(s);
  }
  return ret;
}
