/**
 * A `block_copy_async` call (block/block-copy.c `block_copy_common`): its own coroutine copies what
 * the copy bitmap still has in a range, pass after pass until nothing is left, waiting for the rate
 * limit before a task when the slice's quota is spent, and tells its caller when it has finished.
 *
 * QEMU runs a pass's tasks in parallel; the model runs them in order, and a pass's I/O completes at
 * the next turn of the loop (`aio_task_pool_wait_all`). A failed task stops the pass when the
 * failure is seen (CopyPassFailure): at once, or once the pool's workers are all busy. A comparing
 * driver's verdict (blkverify's or quorum's exit) on reads that went to the thread pool comes with
 * that completion too, not inside the command that started the call.
 */
import { copyTaskEnd, CopyPassFailure, type CopyTaskResult, nextCopyTask, runCopyTask, type CbwIoState } from "../data/copy-before-write-io.js";
import type { LayerState } from "../layer-state.js";
import { verdictAfterReply } from "../data/request-waits.js";
import type { Timer } from "../main-loop.js";
import { QemuAbort } from "../qemu-would-crash.js";
import type { Coroutine } from "./coroutine.js";

const EAGAIN = 11;

export class BlockCopyCall {
  finished = false;
  cancelled = false;
  /** The first failed task's -errno. */
  ret = 0;
  errorIsRead = false;
  private readonly co: Coroutine;
  private readonly sleepTimer: Timer;

  /** `block_copy_async`: the coroutine is entered at once and runs up to its first wait. */
  constructor(
    private readonly state: LayerState,
    private readonly s: CbwIoState,
    private readonly offset: number,
    private readonly bytes: number,
    private readonly maxWorkers: number,
    /** The call's max_chunk (a backup's x-perf max-chunk; 0: none). */
    private readonly maxChunk: number,
    private readonly cb: () => void,
  ) {
    this.sleepTimer = state.loop.newTimer(() => this.co.next());
    this.co = this.common();
    this.co.next();
  }

  get succeeded(): boolean {
    return this.finished && !this.cancelled && this.ret === 0;
  }

  /** `block_copy_call_cancel`: the call stops before its next task. */
  cancel(): void {
    this.cancelled = true;
    this.kick();
  }

  /** `block_copy_kick`: a rate-limit sleep ends now (the coroutine is woken from the loop). */
  kick(): void {
    if (this.sleepTimer.deadlineNs === undefined) return;
    this.sleepTimer.del();
    this.state.loop.scheduleBh(() => this.co.next());
  }

  private *common(): Coroutine {
    let ret: number;
    do {
      ret = yield* this.dirtyClusters();
      if (ret === 0 && !this.cancelled) {
        // Nothing in flight: whatever a failed task left dirty is copied on the next pass.
        const next = this.s.copyBitmap.next(this.offset);
        ret = next !== undefined && next < this.offset + this.bytes ? 1 : 0;
      }
    } while (ret > 0 && !this.cancelled);
    this.finished = true;
    this.cb();
  }

  /** `block_copy_dirty_clusters`: 1 if something dirty was found and copied, 0 if nothing was, or -errno. */
  private *dirtyClusters(): Coroutine<number> {
    const s = this.s;
    const end = this.offset + this.bytes;
    let offset = this.offset;
    let found = false;
    let ran = false;
    let failed = 0;
    const pass = new CopyPassFailure(this.maxWorkers);
    let verdict: QemuAbort | undefined;
    // The tasks' reads go to the thread pool, and the next task's block status is asked before a
    // worker has read: their readahead lands once the tasks are waited for (page-cache.ts).
    const readahead: Array<() => void> = [];
    const readsDone = () => {
      for (const read of readahead.splice(0)) read();
    };
    // Whether every task so far failed in its read before anything went to the thread pool.
    const laterAtStart = this.state.laterReads;
    let onlyFailedReads = true;
    while (offset < end && failed === 0 && !this.cancelled) {
      const marksBefore = this.state.corruptionMarks;
      let next: ReturnType<typeof nextCopyTask>;
      try {
        next = nextCopyTask(this.state, s, offset, end, this.maxChunk);
      } catch (e) {
        // A block status that marked its image corrupt waited for that header write (the thread
        // pool) before it went on to crash: after the command that started the call.
        if (!(e instanceof QemuAbort && this.state.corruptionMarks > marksBefore)) throw e;
        verdict = e;
        ran = true;
        break;
      }
      if (!next) break;
      found = true;
      const { task } = next;
      if (next.skipped) {
        offset = task.offset + task.bytes;
        continue;
      }
      const ns = s.meter?.dispatch(0) ?? 0;
      if (ns > 0) {
        copyTaskEnd(s, task, -EAGAIN);
        this.sleepTimer.mod(this.state.loop.nowNs + ns);
        readsDone();
        yield;
        continue;
      }
      s.meter?.dispatch(task.bytes);
      offset = task.offset + task.bytes;
      ran = true;
      let r: CopyTaskResult;
      const laterBefore = this.state.laterReads;
      this.state.deferCompletions = readahead;
      try {
        r = runCopyTask(this.state, s, task);
      } catch (e) {
        if (!(e instanceof QemuAbort && e.exitCode !== undefined && verdictAfterReply(this.state.laterReads - laterBefore))) throw e;
        verdict = e;
        break;
      } finally {
        this.state.deferCompletions = undefined;
      }
      if (!(r.ret < 0 && r.isRead)) onlyFailedReads = false;
      if (r.ret < 0 && !this.ret) {
        this.ret = r.ret;
        this.errorIsRead = r.isRead;
      }
      failed = pass.after(r);
    }
    failed ||= pass.ret;
    // aio_task_pool_wait_all waits only for tasks still busy: tasks whose reads failed before any
    // I/O (a snapshot-access node over a driver without the snapshot API) are done already.
    const waits = verdict !== undefined || !onlyFailedReads || this.state.laterReads !== laterAtStart;
    if (ran && !waits) readsDone();
    else if (ran) {
      const co = this.co;
      this.state.loop.scheduleBh(() => co.next());
      yield;
      readsDone();
      if (verdict) throw verdict;
    }
    return failed < 0 ? failed : found ? 1 : 0;
  }
}
