/**
 * A background job (job.c): its status and the transitions that announce themselves with
 * JOB_STATUS_CHANGE, its coroutine and the points where it yields (sleep, pause point), pausing
 * and resuming (user pauses and drained sections alike count in `pauseCount`), progress, and the
 * job list. How a job ends is in job-finish.ts; block jobs add their part in block-job.ts.
 *
 * The job's coroutine is a generator (coroutine.ts). It is entered directly wherever QEMU enters
 * it from outside a coroutine (job_start, job_enter from a command, the sleep timer), so a command
 * that wakes a job sees it run up to its next yield before the command goes on, as in QEMU.
 */
import type { LayerState } from "../layer-state.js";
import type { Timer } from "../main-loop.js";
import { idWellformed } from "../node-names.js";
import type { AioContext } from "../aio-context/aio-contexts.js";
import { DESTROYED_MUTEX_LOCKED, freedContextUse } from "../aio-context/iothread-objects.js";
import { QemuAbort, qemuAssert } from "../qemu-would-crash.js";
import { fail } from "../qmp-failure.js";
import type { Coroutine } from "./coroutine.js";
import { jobExit } from "./job-finish.js";
import { type JobStatus, type JobType, applyVerb, statusIsCompleted, statusIsReady, transitionAllowed } from "./job-status.js";

/** A JobDriver: the job type's hooks, each optional as in QEMU but `run`. */
export interface JobDriver<J extends Job> {
  readonly jobType: JobType;
  /** `.run`: the job's work, in its coroutine; returns 0 or -errno (setting `job.err`). */
  run(job: J): Coroutine<number>;
  prepare?(job: J): number;
  commit?(job: J): void;
  abort?(job: J): void;
  clean?(job: J): void;
  free?(job: J): void;
  /** `.pause`: at a pause point, before the job pauses (mirror waits for its I/O). */
  pause?(job: J): Coroutine;
  resume?(job: J): void;
  userResume?(job: J): void;
  /** `.complete` (block-job-complete); throws QmpFailure. */
  complete?(job: J): void;
  /** `.cancel`: may turn a soft cancel into a forced one; returns the force to use. */
  cancel?(job: J, force: boolean): boolean;
}

/** The notifier lists a block job hooks its events on (`on_finalize_cancelled`, …). */
export interface JobNotifiers {
  cancelled?(): void;
  completed?(): void;
  pending?(): void;
  ready?(): void;
}

/** A transaction of jobs (`JobTxn`); jobs the monitor starts are each alone in one. */
export class JobTxn {
  aborting = false;
  /** Newest first (QLIST_INSERT_HEAD). */
  readonly jobs: Job[] = [];
}

/** How the job was asked to end (JOB_MANUAL_FINALIZE, JOB_MANUAL_DISMISS). */
export interface JobFlags {
  autoFinalize: boolean;
  autoDismiss: boolean;
  /** BlockdevOnError for reads of the source (`on-error`, or a mirror's `on-source-error`); absent: report. */
  onSourceError?: string;
  /** BlockdevOnError for writes to the target (`on-error`, or a mirror's `on-target-error`); absent: report. */
  onTargetError?: string;
}

/**
 * `job_create`'s checks on the id, before anything is made: "Invalid job ID", "Job ID … already in
 * use". Jobs the monitor creates are never internal, so the id is always there (maybe empty).
 */
export function checkNewJobId(state: LayerState, id: string): void {
  if (!idWellformed(id)) fail(`Invalid job ID '${id}'`);
  if (state.findJob(id)) fail(`Job ID '${id}' already in use`);
}

export class Job {
  status: JobStatus = "undefined";
  busy = false;
  paused = true;
  pauseCount = 1;
  userPaused = false;
  cancelled = false;
  forceCancel = false;
  deferredToMainLoop = false;
  readonly autoFinalize: boolean;
  readonly autoDismiss: boolean;
  /** 0, or -errno once the job failed or was cancelled. */
  ret = 0;
  /** job->err: the message of a failure. */
  err: string | undefined;
  /** The coroutine, from job_start on (still set once it has returned: the job was started). */
  co: Coroutine | null = null;
  /**
   * A wake the iothread never carried out: aio_co_wake from the main thread scheduled the
   * coroutine in the job's iothread, whose lock the main thread leaked (wake(), runStalled()).
   */
  stalled = false;
  readonly sleepTimer: Timer;
  /** ProgressMeter: what query-jobs calls current and total progress. */
  readonly progress = { current: 0, total: 0 };
  refcnt = 1;
  txn: JobTxn | null = null;
  /** job->aio_context: where job_create found its node (createBlockJob), then wherever its nodes move. */
  aioContext: AioContext;
  readonly notifiers: JobNotifiers = {};

  /** `job_create` (after checkNewJobId): status created, then at the head of the job list, alone in a new txn. */
  constructor(
    readonly state: LayerState,
    readonly id: string,
    readonly driver: JobDriver<Job>,
    flags: JobFlags,
  ) {
    this.aioContext = state.aio.main;
    // Block jobs copy through buffers of their own (mirror's, block-copy's, commit's 512 KiB, the
    // copy-on-read bounce of a stream) that the model does not size; freeing them raises malloc's
    // threshold, so from here on new memory is not taken for fresh pages.
    state.heap.freedUnknown();
    this.autoFinalize = flags.autoFinalize;
    this.autoDismiss = flags.autoDismiss;
    this.transition("created");
    this.sleepTimer = state.loop.newTimer(() => this.enter());
    state.jobs.push(this);
    const txn = new JobTxn();
    txn.jobs.unshift(this);
    this.txn = txn;
  }

  /** `job_create` given a transaction (a grouped `transaction`'s): the job joins it instead, at its head. */
  joinTxn(txn: JobTxn): void {
    this.txn = txn;
    txn.jobs.unshift(this);
  }

  get jobType(): JobType {
    return this.driver.jobType;
  }

  /** `job_state_transition_locked`: QEMU asserts the table allows it, and announces a change. */
  transition(to: JobStatus): void {
    const from = this.status;
    if (!transitionAllowed(from, to)) qemuAssert({ file: "../../job.c", line: 214, func: "job_state_transition_locked" }, "JobSTT[s0][s1]");
    this.status = to;
    if (to !== from) this.state.emit("JOB_STATUS_CHANGE", { id: this.id, status: to });
  }

  /** `job_apply_verb_locked`. */
  applyVerb(verb: Parameters<typeof applyVerb>[2]): void {
    applyVerb(this.id, this.status, verb);
  }

  /** `job_is_cancelled_locked`: force-cancelled (a soft cancel of a ready mirror is not). */
  isCancelled(): boolean {
    return this.forceCancel;
  }

  /** `job_cancel_requested_locked`. */
  cancelRequested(): boolean {
    return this.cancelled;
  }

  isReady(): boolean {
    return statusIsReady(this.status);
  }

  isCompleted(): boolean {
    return statusIsCompleted(this.status);
  }

  get started(): boolean {
    return this.co !== null;
  }

  shouldPause(): boolean {
    return this.pauseCount > 0;
  }

  /** `job_progress_update`, `job_progress_set_remaining`, `job_progress_increase_remaining`. */
  progressUpdate(done: number): void {
    this.progress.current += done;
  }

  progressSetRemaining(remaining: number): void {
    this.progress.total = this.progress.current + remaining;
  }

  progressIncreaseRemaining(delta: number): void {
    this.progress.total += delta;
  }

  /** `job_enter_cond_locked`: wake the coroutine unless it is busy, done, not started, or `fn` says no. */
  enterCond(fn?: (job: Job) => boolean): void {
    if (!this.started || this.deferredToMainLoop || this.busy) return;
    if (fn && !fn(this)) return;
    this.sleepTimer.del();
    this.busy = true;
    this.wake();
  }

  /**
   * `aio_co_wake` from the main thread (the sleep timer lives in the main context too): a coroutine
   * that runs in an iothread is scheduled there, and the iothread takes the context's lock to run
   * it (co_schedule_bh_cb). One the main thread leaked it never gets, until a wait of the main
   * thread gives it back (runStalled).
   */
  private wake(): void {
    if (!this.aioContext.isMain && this.aioContext.leakedLocks > 0) {
      this.stalled = true;
      return;
    }
    this.co!.next();
  }

  /** The iothread runs the coroutine a wake left scheduled: the main thread released the lock for a while. */
  runStalled(): void {
    if (!this.stalled) return;
    this.stalled = false;
    this.co!.next();
  }

  /** `job_enter`. */
  enter(): void {
    this.enterCond();
  }

  /** `job_do_yield_locked`: sleep until `deadlineNs` (-1: until entered), not busy meanwhile. */
  *doYield(deadlineNs: number): Coroutine {
    if (deadlineNs !== -1) this.sleepTimer.mod(deadlineNs);
    this.busy = false;
    yield;
    if (!this.busy) qemuAssert({ file: "../../job.c", line: 602, func: "job_do_yield_locked" }, "job->busy");
  }

  /** `job_pause_point_locked`: stop here while paused (status paused, or standby when ready). */
  *pausePoint(): Coroutine {
    if (!this.shouldPause() || this.isCancelled()) return;
    if (this.driver.pause) yield* this.driver.pause(this);
    if (this.shouldPause() && !this.isCancelled()) {
      const status = this.status;
      this.transition(status === "ready" ? "standby" : "paused");
      this.paused = true;
      yield* this.doYield(-1);
      this.paused = false;
      this.transition(status);
    }
    this.driver.resume?.(this);
  }

  /** `job_yield`: wait until entered (a job with nothing to do). */
  *yieldUntilEntered(): Coroutine {
    if (this.isCancelled()) return;
    if (!this.shouldPause()) yield* this.doYield(-1);
    yield* this.pausePoint();
  }

  /** `job_sleep_ns`: sleep `ns` of the clock (or until entered), then a pause point. */
  *sleepNs(ns: number): Coroutine {
    if (this.isCancelled()) return;
    if (!this.shouldPause()) yield* this.doYield(this.state.loop.nowNs + ns);
    yield* this.pausePoint();
  }

  /**
   * The coroutine waits for a request it issued (a read from the image, a flush): QEMU completes
   * it from the thread pool through a bottom half, which re-enters the coroutine. The job stays
   * busy meanwhile. The model's I/O takes no time, so it is done at the next turn of the loop.
   */
  *ioWait(): Coroutine {
    this.state.loop.scheduleBh(() => this.wake());
    yield;
  }

  /** `job_pause_locked`. */
  pause(): void {
    this.pauseCount++;
    if (!this.paused) this.enterCond();
  }

  /** `job_resume_locked`: the last resume wakes the job, unless its sleep timer will. */
  resume(): void {
    if (this.pauseCount <= 0) qemuAssert({ file: "../../job.c", line: 703, func: "job_resume_locked" }, "job->pause_count > 0");
    this.pauseCount--;
    if (this.pauseCount) return;
    this.enterCond((job) => job.sleepTimer.deadlineNs === undefined);
  }

  /** `job_user_pause_locked`. */
  userPause(): void {
    this.applyVerb("pause");
    if (this.userPaused) fail("Job is already paused");
    this.userPaused = true;
    this.pause();
  }

  /** `job_user_resume_locked`. */
  userResume(): void {
    if (!this.userPaused || this.pauseCount <= 0) fail("Can't resume a job that was not paused");
    this.applyVerb("resume");
    this.driver.userResume?.(this);
    this.userPaused = false;
    this.resume();
  }

  /** `job_start`: the coroutine begins and runs up to its first yield. */
  start(): void {
    this.co = this.coEntry();
    this.pauseCount--;
    this.busy = true;
    this.paused = false;
    this.transition("running");
    this.co.next();
  }

  /** `job_co_entry`: a pause point first, then the work; the end is handled in the main loop. */
  private *coEntry(): Coroutine {
    yield* this.pausePoint();
    const ret = yield* this.driver.run(this);
    this.ret = ret;
    this.deferredToMainLoop = true;
    this.busy = true;
    this.state.loop.scheduleMainContextBh(() => jobExit(this));
  }

  /** `job_ref_locked`. */
  ref(): void {
    this.refcnt++;
  }

  /** `job_unref_locked`: the last reference frees the job (the driver's free, then off the list). */
  unref(): void {
    if (--this.refcnt > 0) return;
    if (this.status !== "null") qemuAssert({ file: "../../job.c", line: 461, func: "job_unref_locked" }, "job->status == JOB_STATUS_NULL");
    if (this.driver.free) {
      // The free runs with the job's context locked; an iothread deleted since has no lock left.
      if (this.aioContext.destroyed) throw freedContextUse(this.aioContext, new QemuAbort("SIGABRT", DESTROYED_MUTEX_LOCKED));
      this.driver.free(this);
    }
    const i = this.state.jobs.indexOf(this);
    if (i >= 0) this.state.jobs.splice(i, 1);
  }
}
