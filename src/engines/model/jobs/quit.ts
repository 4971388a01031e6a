/**
 * What qemu-storage-daemon does once `quit` ends its main loop (storage-daemon/qemu-storage-daemon.c):
 * `blk_exp_close_all()`, `bdrv_drain_all_begin()`, `job_cancel_sync_all()`, then it closes every
 * node. So a live job is force-cancelled at quit: drained first (a READY job goes to STANDBY),
 * woken by the cancel (back to READY), and run to its end — ABORTING, BLOCK_JOB_CANCELLED,
 * CONCLUDED, NULL. A job that is concluded is dismissed.
 */
import { DESTROYED_MUTEX_LOCKED, leakedLockAtQuit, nodeInDestroyedContext, type QuitEnd, strandedTimerAtQuit } from "../aio-context/iothread-objects.js";
import { blkExpCloseAll } from "../commands/exports.js";
import { bdrvFlushQuietly } from "../data/block-io.js";
import { ModelIoUnsupportedError } from "../data/io-error.js";
import { bdrvDrainAllBegin } from "../drain.js";
import { freeNode, unreferenced } from "../graph-ops.js";
import type { LayerState } from "../layer-state.js";
import { MainLoopBusyError } from "../main-loop.js";
import { QemuAbort } from "../qemu-would-crash.js";
import { QemuHang } from "../qemu-would-hang.js";
import { QmpFailure } from "../qmp-failure.js";
import { jobCancel } from "./job-finish.js";
import type { Job } from "./job.js";

/** How many turns of the loop a cancelled job may take to finish before the model gives up. */
const MAX_TURNS = 100_000;

/** `job_cancel_sync_locked(job, true)` → `job_finish_sync_locked`: cancel, then run the loop until it completed. */
function jobCancelSync(state: LayerState, job: Job): void {
  job.ref();
  jobCancel(job, true);
  // AIO_WAIT_WHILE(ctx, (job_enter(job), !job_is_completed(job)))
  for (let turns = 0; (job.enter(), !job.isCompleted()); turns++) {
    if (turns >= MAX_TURNS || !state.loop.step()) throw new MainLoopBusyError(turns);
  }
  job.unref();
}

/** `job_cancel_sync_all`: the head of the job list (the newest job) until the list is empty. */
function jobCancelSyncAll(state: LayerState): void {
  for (let job = state.jobs.at(-1); job; job = state.jobs.at(-1)) jobCancelSync(state, job);
}

/**
 * `bdrv_close_all`: the first node whose close crashes QEMU 7.2 (a driver's closeCrash), or whose
 * close ends QEMU one way or another from run to run (closeUnknown), if any.
 */
export function closeAllCrash(state: LayerState): QuitEnd | undefined {
  for (const node of state.nodes.values()) {
    if (node.ejected) continue;
    const why = node.driver.closeCrash?.(node);
    if (why !== undefined) return { segfault: why };
    const unknown = node.driver.closeUnknown?.(node);
    if (unknown !== undefined) return { unknown };
  }
  return undefined;
}

/**
 * `blk_exp_close_all` at quit, where an export's drain may wait forever (for a job a leaked
 * iothread lock stalled): how the process ends then, else undefined.
 */
export function closeExportsAtQuit(state: LayerState): QuitEnd | undefined {
  try {
    blkExpCloseAll(state);
  } catch (e) {
    if (e instanceof QemuHang) return { hang: e.detail };
    throw e;
  }
  return undefined;
}

/**
 * qemu-storage-daemon's cleanup after its main loop; the model's `quit`. Returns how it ends when
 * not cleanly: an iothread lock that block_resize leaked hangs the drain, where nothing after it
 * happens (leakedLockAtQuit); a node whose close segfaults ends it in bdrv_close_all; else such a
 * lock aborts when the iothread is destroyed last.
 */
export function storageDaemonQuit(state: LayerState): QuitEnd | undefined {
  // blk_exp_close_all and bdrv_drain_all_begin take the context of every export and node.
  if (nodeInDestroyedContext(state)) return { abort: DESTROYED_MUTEX_LOCKED };
  const closing = closeExportsAtQuit(state);
  if (closing) return closing;
  const leaked = leakedLockAtQuit(state);
  if (leaked && "hang" in leaked) return leaked;
  bdrvDrainAllBegin(state, state.nodes.values());
  try {
    jobCancelSyncAll(state);
  } catch (e) {
    // After the reply to `quit`: QEMU dies on its way out (a job's free locking a destroyed context).
    if (e instanceof QemuAbort && e.signal === "SIGABRT" && e.exitCode === undefined) return { abort: e.detail };
    throw e;
  }
  const crash = closeAllCrash(state);
  if (crash) {
    flushAll(state);
    return crash;
  }
  return closeAll(state) ?? leaked;
}

/**
 * The exports first (`blk_exp_close_all`, a no-op after `quit` closed them), then `bdrv_close_all`
 * → `blockdev_close_all_bdrv_states`: the monitor's references go in the order the nodes were
 * added, and each node that was the last to hold closes as blockdev-del closes it (flush, the
 * driver's close, children detached with their permissions relaxed, so that a preallocate filter
 * cuts its file back). Nodes a job still holds are flushed only. A close that asserts (a filter's
 * bitmap left on a node that closes before the filter) is how the process ends; one the model cannot
 * follow stops the closing, not the run.
 */
export function closeAll(state: LayerState): QuitEnd | undefined {
  flushAll(state);
  try {
    blkExpCloseAll(state);
    for (const node of [...state.nodes.values()]) {
      if (node.freed || !node.monitorOwned) continue;
      node.monitorOwned = false;
      if (unreferenced(node)) freeNode(state, node, state.aio.of(node));
    }
  } catch (e) {
    if (e instanceof QemuAbort) return e.signal === "SIGSEGV" ? { segfault: e.detail } : { abort: e.detail };
    if (!(e instanceof ModelIoUnsupportedError || e instanceof QmpFailure)) throw e;
  }
  return strandedTimerAtQuit(state);
}

/**
 * `bdrv_close_all`, as far as the files see it: closing a node flushes it first, so what the
 * drivers cached reaches the files (the nodes themselves are not taken apart). A flush the model
 * cannot follow (caches a refused write left dirty over a node it does not write through) leaves
 * that node's file as it was and the others are flushed: the run already failed on the refusal.
 */
export function flushAll(state: LayerState): void {
  for (const node of state.nodes.values()) {
    try {
      bdrvFlushQuietly(state, node);
    } catch (e) {
      if (!(e instanceof ModelIoUnsupportedError)) throw e;
    }
  }
}
