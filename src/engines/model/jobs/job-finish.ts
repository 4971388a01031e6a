/**
 * How a job ends (job.c): the coroutine returns and `job_exit` runs in the main loop; the job goes
 * waiting → pending (→ BLOCK_JOB_PENDING when it waits for job-finalize) → prepare, commit or
 * abort, clean → BLOCK_JOB_COMPLETED or BLOCK_JOB_CANCELLED → concluded (→ null when it dismisses
 * itself). A failure or a cancel goes through aborting instead. Also the user's verbs that end a
 * job: cancel, complete, finalize, dismiss.
 *
 * A job is alone in its transaction unless a grouped `transaction` made it with others (backup):
 * then they become pending together, and one that fails or is cancelled cancels the others.
 */
import { strerror } from "../data/io-error.js";
import { MainLoopBusyError } from "../main-loop.js";
import { qemuAssert } from "../qemu-would-crash.js";
import { fail } from "../qmp-failure.js";
import type { Job, JobTxn } from "./job.js";

/** The error a cancelled job fails with. */
const ECANCELED = 125;

/** `job_exit`: the main loop takes over from the returned coroutine. */
export function jobExit(job: Job): void {
  job.ref();
  job.busy = false;
  completed(job);
  job.unref();
}

/** `job_completed_locked`. */
function completed(job: Job): void {
  if (!job.txn || job.isCompleted()) qemuAssert({ file: "../../job.c", line: 1075, func: "job_completed_locked" }, "job && job->txn && !job_is_completed_locked(job)");
  updateRc(job);
  if (job.ret) completedTxnAbort(job);
  else completedTxnSuccess(job);
}

/**
 * `job_update_rc_locked`: a cancelled job fails with -ECANCELED; a failing job is aborting. Its
 * error is strerror() of whatever errno the job ended with: a blkdebug rule can inject any.
 */
function updateRc(job: Job): void {
  if (!job.ret && job.isCancelled()) job.ret = -ECANCELED;
  if (job.ret) {
    job.err ??= strerror(-job.ret);
    job.transition("aborting");
  }
}

/** `job_txn_apply_locked`: `fn` on every job of the transaction until one returns non-zero. */
function txnApply(job: Job, fn: (j: Job) => number): number {
  const txn = job.txn!;
  job.ref();
  let rc = 0;
  for (const other of [...txn.jobs]) {
    rc = fn(other);
    if (rc) break;
  }
  job.unref();
  return rc;
}

function txnDel(job: Job): void {
  const txn = job.txn;
  if (!txn) return;
  txn.jobs.splice(txn.jobs.indexOf(job), 1);
  job.txn = null;
}

/** `job_completed_txn_success_locked`. */
function completedTxnSuccess(job: Job): void {
  const txn = job.txn!;
  job.transition("waiting");
  for (const other of txn.jobs) if (!other.isCompleted()) return;
  txnApply(job, (j) => {
    // job_transition_to_pending_locked
    j.transition("pending");
    if (!j.autoFinalize) j.notifiers.pending?.();
    return 0;
  });
  if (txnApply(job, (j) => (j.autoFinalize ? 0 : 1)) === 0) doFinalize(job);
}

/** `job_completed_txn_abort_locked`: every job of the transaction is cancelled and finalized. */
function completedTxnAbort(job: Job): void {
  const txn: JobTxn = job.txn!;
  if (txn.aborting) return;
  txn.aborting = true;
  job.ref();
  for (const other of txn.jobs) if (other !== job) cancelAsync(other, true);
  while (txn.jobs.length > 0) {
    const other = txn.jobs[0]!;
    if (!other.isCompleted()) finishSync(other);
    finalizeSingle(other);
  }
  job.unref();
}

/** How many turns of the loop a cancelled job may take to finish before the model gives up. */
const MAX_FINISH_TURNS = 100_000;

/**
 * `job_finish_sync_locked` of a job another job of its transaction cancelled: the loop runs, the
 * job entered at every turn, until it has completed.
 */
function finishSync(job: Job): void {
  job.ref();
  for (let turns = 0; (job.enter(), !job.isCompleted()); turns++) {
    if (turns >= MAX_FINISH_TURNS || !job.state.loop.step()) throw new MainLoopBusyError(turns);
  }
  job.unref();
}

/** `job_prepare_locked`. */
function prepare(job: Job): number {
  if (job.ret === 0 && job.driver.prepare) {
    job.ret = job.driver.prepare(job);
    updateRc(job);
  }
  return job.ret;
}

/** `job_do_finalize_locked`: prepare every job, then finalize them all, or abort them all. */
function doFinalize(job: Job): void {
  if (txnApply(job, prepare)) completedTxnAbort(job);
  else txnApply(job, finalizeSingle);
}

/** `job_finalize_single_locked`: commit or abort, clean, the block job's event, concluded. */
function finalizeSingle(job: Job): number {
  if (!job.isCompleted()) qemuAssert({ file: "../../job.c", line: 849, func: "job_finalize_single_locked" }, "job_is_completed_locked(job)");
  updateRc(job);
  if (!job.ret) job.driver.commit?.(job);
  else job.driver.abort?.(job);
  job.driver.clean?.(job);
  // Events only for a job that actually started.
  if (job.started) {
    if (job.isCancelled()) job.notifiers.cancelled?.();
    else job.notifiers.completed?.();
  }
  txnDel(job);
  conclude(job);
  return 0;
}

/** `job_conclude_locked`. */
function conclude(job: Job): void {
  job.transition("concluded");
  if (job.autoDismiss || !job.started) doDismiss(job);
}

/** `job_do_dismiss_locked`: status null, and the job list's reference goes. */
function doDismiss(job: Job): void {
  job.busy = false;
  job.paused = false;
  job.deferredToMainLoop = true;
  txnDel(job);
  job.transition("null");
  job.unref();
}

/** `job_early_fail`: a job that failed while being set up goes away at once. */
export function jobEarlyFail(job: Job): void {
  if (job.status !== "created") qemuAssert({ file: "../../job.c", line: 787, func: "job_early_fail" }, "job->status == JOB_STATUS_CREATED");
  doDismiss(job);
}

/** `job_cancel_async_locked`: ask the job to stop; a user pause is lifted (the caller wakes it). */
function cancelAsync(job: Job, force: boolean): void {
  force = job.driver.cancel ? job.driver.cancel(job, force) : true;
  if (job.userPaused) {
    job.driver.userResume?.(job);
    job.userPaused = false;
    if (job.pauseCount <= 0) qemuAssert({ file: "../../job.c", line: 913, func: "job_cancel_async_locked" }, "job->pause_count > 0");
    job.pauseCount--;
  }
  // A soft cancel of a job that is already done is ignored.
  if (force || !job.deferredToMainLoop) {
    job.cancelled = true;
    job.forceCancel ||= force;
  }
}

/** `job_cancel_locked`. */
export function jobCancel(job: Job, force: boolean): void {
  if (job.status === "concluded") {
    doDismiss(job);
    return;
  }
  cancelAsync(job, force);
  if (!job.started) completed(job);
  else if (job.deferredToMainLoop) {
    if (job.isCancelled()) completedTxnAbort(job);
  } else job.enterCond();
}

/** `job_user_cancel_locked` (job-cancel, block-job-cancel). */
export function jobUserCancel(job: Job, force: boolean): void {
  job.applyVerb("cancel");
  jobCancel(job, force);
}

/** `job_complete_locked` (job-complete, block-job-complete). */
export function jobComplete(job: Job): void {
  job.applyVerb("complete");
  if (job.cancelRequested() || !job.driver.complete) fail(`The active block job '${job.id}' cannot be completed`);
  job.driver.complete(job);
}

/** `job_finalize_locked` (job-finalize, block-job-finalize). */
export function jobFinalize(job: Job): void {
  job.applyVerb("finalize");
  doFinalize(job);
}

/** `job_dismiss_locked` (job-dismiss, block-job-dismiss). */
export function jobDismiss(job: Job): void {
  job.applyVerb("dismiss");
  doDismiss(job);
}
