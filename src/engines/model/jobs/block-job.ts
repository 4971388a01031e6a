/**
 * A block job (blockjob.c): a job that holds nodes through edges of its own ("main node",
 * "intermediate node", …, each also an op blocker), has a speed, answers query-block-jobs, and
 * announces BLOCK_JOB_READY / PENDING / COMPLETED / CANCELLED. A drained section on any of its
 * nodes pauses it.
 */
import type { Coroutine } from "./coroutine.js";
import type { BdsNode, Child, JobParent } from "../graph.js";
import { attachEdge, detachAndRelease } from "../graph-ops.js";
import type { LayerState } from "../layer-state.js";
import { refreshPerms } from "../perm-refresh.js";
import { catchIoError, Errno, ModelIoUnsupportedError } from "../data/io-error.js";
import { fail, QmpFailure } from "../qmp-failure.js";
import { runInTransaction } from "../transaction.js";
import { checkNewJobId, Job, type JobDriver, type JobFlags } from "./job.js";
import { jobEarlyFail } from "./job-finish.js";
import { BLOCK_JOB_SLICE_TIME_NS, RateLimit } from "./ratelimit.js";

/** BlockDeviceIoStatus. */
export type BlockDeviceIoStatus = "ok" | "failed" | "nospace";

/** BlockErrorAction: what a job does about a failed request. */
export type BlockErrorAction = "report" | "ignore" | "stop";

export class BlockJob extends Job implements JobParent {
  /** job->nodes: the job's edges, oldest first (QEMU prepends, and walks it newest first). */
  readonly nodes: Child[] = [];
  speed = 0;
  readonly limit = new RateLimit();
  /** BlockDeviceIoStatus: set by an error that stopped the job, until the user resumes it. */
  iostatus: BlockDeviceIoStatus = "ok";
  /** job->blocker: "block device is in use by block job: <type>". */
  readonly blockerReason: string;
  /** The BlockdevOnError policies (JobFlags); undefined: report. */
  readonly onSourceError: string | undefined;
  readonly onTargetError: string | undefined;

  /** The offset whose chunk failed under on-error=ignore, and how many times in a row (see ignoredAgain). */
  #ignored = { offset: -1, times: 0 };

  /** Use `createBlockJob`. */
  constructor(state: LayerState, id: string, driver: JobDriver<Job>, flags: JobFlags) {
    super(state, id, driver, flags);
    this.blockerReason = `block device is in use by block job: ${driver.jobType}`;
    this.onSourceError = flags.onSourceError;
    this.onTargetError = flags.onTargetError;
    this.notifiers.cancelled = () => this.emitProgressEvent("BLOCK_JOB_CANCELLED");
    this.notifiers.completed = () => {
      const data = this.progressEventData();
      if (this.ret < 0) data["error"] = this.err;
      this.state.emit("BLOCK_JOB_COMPLETED", data);
    };
    this.notifiers.pending = () => this.state.emit("BLOCK_JOB_PENDING", { type: this.jobType, id: this.id });
    this.notifiers.ready = () => this.emitProgressEvent("BLOCK_JOB_READY");
  }

  /** BLOCK_JOB_* event data in QAPI member order. */
  private progressEventData(): Record<string, unknown> {
    return { type: this.jobType, device: this.id, len: this.progress.total, offset: this.progress.current, speed: this.speed };
  }

  private emitProgressEvent(event: string): void {
    this.state.emit(event, this.progressEventData());
  }

  /**
   * A chunk whose error was ignored is tried again at once, at the same offset, after a zero-delay
   * sleep (stream and commit): QEMU spins there, sending BLOCK_JOB_ERROR each time, for as long as
   * the error lasts, while the monitor answers. The model's clock does not move on zero-delay
   * sleeps, so after IGNORED_RETRIES failures in a row at one offset it takes the error for one
   * that lasts and waits until something enters the job (a pause, a drain, a cancel), then tries
   * again, as QEMU would still be doing.
   */
  *ignoredAgain(offset: number): Coroutine {
    this.#ignored = this.#ignored.offset === offset ? { offset, times: this.#ignored.times + 1 } : { offset, times: 1 };
    if (this.#ignored.times < IGNORED_RETRIES) return;
    this.#ignored = { offset: -1, times: 0 };
    yield* this.doYield(-1);
  }

  /**
   * `block_job_error_action` under the job's policy for the direction that failed (`enospc` and
   * `auto` stop on ENOSPC and report anything else), announced with BLOCK_JOB_ERROR unless the job
   * is cancelled. `stop` pauses the job as the user would (a user's resume lets it go on and retry)
   * and records the error in its io-status; what `report` and `ignore` mean is the caller's.
   */
  errorAction(isRead: boolean, ret: number): BlockErrorAction {
    const policy = (isRead ? this.onSourceError : this.onTargetError) ?? "report";
    const action: BlockErrorAction = policy === "enospc" || policy === "auto" ? (ret === -Errno.ENOSPC ? "stop" : "report") : (policy as BlockErrorAction);
    if (!this.isCancelled()) this.state.emit("BLOCK_JOB_ERROR", { device: this.id, operation: isRead ? "read" : "write", action });
    if (action === "stop") {
      if (!this.userPaused) {
        this.pause();
        this.userPaused = true;
      }
      // block_job_iostatus_set_err: the first error is the one kept.
      if (this.iostatus === "ok") this.iostatus = ret === -Errno.ENOSPC ? "nospace" : "failed";
    }
    return action;
  }

  /** `child_job_drained_begin`. */
  drainedBegin(): void {
    this.pause();
  }

  /** `child_job_drained_end`. */
  drainedEnd(): void {
    this.resume();
  }

  /**
   * `child_job_drained_poll` right after `child_job_drained_begin`: job_pause wakes a started job
   * that is neither at a pause point nor busy nor handed over to the main loop, so it is busy until
   * its coroutine reaches the pause point; a completed one has nothing left to do.
   */
  busyWhenDrained(): boolean {
    const busy = this.busy || (!this.paused && this.started && !this.deferredToMainLoop);
    if (!busy || this.isCompleted()) return false;
    return this.drainedPoll();
  }

  /**
   * Stream and commit pause as soon as their rate-limit sleep ends: qemu-storage-daemon 7.2.22,
   * blockdev-add over a stream's node pinned in an iothread, aborted in 3 runs of 8 and 4 of 12.
   */
  get slowToPause(): boolean {
    return false;
  }

  /** BlockJobDriver.drained_poll: whether a busy job may still issue requests (none: it may). */
  protected drainedPoll(): boolean {
    return true;
  }

  /**
   * `block_job_add_bdrv`: a root attach of an edge with these fixed permissions (the refresh starts
   * at the node; a conflict fails it), listed in job->nodes, and the node is blocked.
   */
  addBdrv(name: string, bs: BdsNode, perm: number, shared: number): Child {
    const c = runInTransaction((tran) => {
      const edge = attachEdge({ kind: "job", job: this }, bs, name, 0, tran, { perm, shared });
      refreshPerms(this.state, [bs], tran);
      return edge;
    });
    this.nodes.push(c);
    return c;
  }

  /** `block_job_remove_all_bdrv`: every edge goes, newest first, each releasing its node. */
  removeAllBdrv(): void {
    while (this.nodes.length > 0) detachAndRelease(this.state, this.nodes.pop()!);
  }

  /** `block_job_set_speed_locked`. */
  setSpeed(speed: number): void {
    const old = this.speed;
    this.applyVerb("set-speed");
    if (speed < 0) fail("Parameter 'speed' expects a non-negative value");
    this.limit.setSpeed(speed, BLOCK_JOB_SLICE_TIME_NS);
    this.speed = speed;
    this.speedChanged(speed);
    if (speed && speed <= old) return;
    // A job sleeping for its rate limit is woken to sleep again at the new speed.
    this.enterCond((job) => job.sleepTimer.deadlineNs !== undefined);
  }

  /** BlockJobDriver.set_speed (block_job_create sets the speed before the job is filled in). */
  protected speedChanged(_speed: number): void {}

  /** `block_job_ratelimit_get_delay`. */
  ratelimitDelay(n: number): number {
    return this.limit.calculateDelay(n, this.state.loop.nowNs);
  }

  /** `block_job_query_locked`: BlockJobInfo in QAPI member order. */
  queryInfo(): Record<string, unknown> {
    const info: Record<string, unknown> = {
      type: this.jobType,
      device: this.id,
      len: this.progress.total,
      offset: this.progress.current,
      busy: this.busy,
      paused: this.pauseCount > 0,
      speed: this.speed,
      "io-status": this.iostatus,
      ready: this.isReady(),
      status: this.status,
      "auto-finalize": this.autoFinalize,
      "auto-dismiss": this.autoDismiss,
    };
    if (this.ret) info["error"] = this.err;
    return info;
  }
}

/** Failures in a row at one offset after which an ignored error is taken for one that lasts. */
export const IGNORED_RETRIES = 1_000;

/** The JobDriver hooks every block job type shares (`block_job_free`, `block_job_user_resume`). */
export const BLOCK_JOB_DRIVER_DEFAULTS = {
  free: (job: BlockJob) => job.removeAllBdrv(),
  // block_job_iostatus_reset: the error that stopped the job is forgotten.
  userResume: (job: BlockJob) => {
    job.iostatus = "ok";
  },
};

/** What `block_job_create` needs. */
export interface BlockJobCreate<J extends BlockJob> {
  /** job-id, or null: then the node's device name, which is "" in qemu-storage-daemon. */
  id: string | null;
  /** Builds the driver's job object (its state begins empty and is filled by the caller). */
  make: (id: string) => J;
  bs: BdsNode;
  perm: number;
  shared: number;
  speed: number;
}

/**
 * `block_job_create`: the job (status created), its "main node" edge, its speed. A failure after
 * the job exists makes it go away (`job_early_fail`: null) before the error is reported.
 */
export function createBlockJob<J extends BlockJob>(state: LayerState, req: BlockJobCreate<J>): J {
  const id = req.id ?? "";
  checkNewJobId(state, id);
  const job = req.make(id);
  // job_create: the job runs where its main node does.
  job.aioContext = state.aio.of(req.bs);
  try {
    job.addBdrv("main node", req.bs, req.perm, req.shared);
    job.setSpeed(req.speed);
  } catch (e) {
    jobEarlyFail(job);
    throw e;
  }
  return job;
}

export { catchIoError };

/**
 * A job's `blk_truncate(…, NULL)` (commit and active commit growing a shorter base): the message
 * goes nowhere, and the job ends with the errno the refusal returned ("Cannot resize fixed-size
 * raw disks" is -ENOTSUP), never failing the command that started it.
 */
export function catchTruncateError(request: () => void): number {
  try {
    return catchIoError(request);
  } catch (e) {
    if (e instanceof QmpFailure && e.errno !== undefined) return -e.errno;
    if (e instanceof QmpFailure) throw new ModelIoUnsupportedError(`the errno of a job's truncate that fails with '${e.body.desc}'`);
    throw e;
  }
}
