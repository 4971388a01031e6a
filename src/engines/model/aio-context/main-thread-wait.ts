/**
 * A coroutine wrapper (`bdrv_flush` and the other `generated_co_wrapper`s) called from the main
 * thread on a node in an iothread: `bdrv_coroutine_enter` schedules the coroutine in the node's
 * context, and the iothread takes that context's lock to run it (`co_schedule_bh_cb`). The main
 * thread waits with `AIO_WAIT_WHILE`, which releases the lock once around each poll of the main
 * loop. So the wait works only when the main thread holds the lock exactly once: not at all, and
 * the release aborts; more than once (a lock leaked by block_resize, plus the caller's), and the
 * iothread never gets it.
 */
import type { BdsNode, Child, JobParent } from "../graph.js";
import type { LayerState } from "../layer-state.js";
import { ModelIoUnsupportedError } from "../data/io-error.js";
import { QemuAbort } from "../qemu-would-crash.js";
import { QemuHang } from "../qemu-would-hang.js";
import type { AioContext } from "./aio-contexts.js";
import { DESTROYED_MUTEX_UNLOCKED, freedContextUse } from "./iothread-objects.js";

/** qemu_rec_mutex_unlock of a lock this thread does not hold: error_exit() prints this and aborts. */
export function unlockNotOwned(): QemuAbort {
  return new QemuAbort("SIGABRT", "qemu: qemu_mutex_unlock_impl: Operation not permitted");
}

/**
 * Before the main thread waits for a coroutine `what` runs on `bs`: `held` is the context whose
 * lock the caller took (null: none). Throws QemuHang where QEMU 7.2 hangs; returns "race" where it
 * aborts or not as timing has it (the caller decides what the model can say), else "ok".
 */
export function waitForNodeCoroutine(state: LayerState, bs: BdsNode, held: AioContext | null, what: string): "ok" | "race" {
  const ctx = state.aio.of(bs);
  if (ctx.isMain) return "ok";
  const holds = ctx.leakedLocks + (ctx === held ? 1 : 0);
  if (holds > 1) {
    throw new QemuHang(`${what} of '${bs.name}' waits for iothread '${ctx.name}', whose AioContext lock the main thread took and never gave back`);
  }
  if (holds === 1) runStalledJobs(state, ctx);
  return holds === 0 ? "race" : "ok";
}

/**
 * While AIO_WAIT_WHILE has released the main thread's only hold of `ctx` (a leaked one), the
 * iothread runs the job coroutines that wakes left scheduled there (Job.runStalled).
 */
function runStalledJobs(state: LayerState, ctx: AioContext): void {
  for (const job of [...state.jobs]) if (job.aioContext === ctx) job.runStalled();
}

/**
 * The poll of a `bdrv_drained_begin` the main thread makes on `bs` (BDRV_POLL_WHILE): it waits while
 * a job above the node is still running (the drain itself wakes one that slept), and a job in an
 * iothread runs there only while AIO_WAIT_WHILE has released the context's lock. Not holding it,
 * the release aborts if the job has not reached its pause point in the iothread by the time the
 * poll first looks: a mirror has not, another job may have, and the model refuses to say which.
 * Holding it twice, the iothread never gets it. `held` is the context whose lock the caller holds.
 * `racy`: even a mirror may win (a subtree drain a reopen applies to a new child: 5 runs of 20 went
 * on), so the model refuses to say.
 */
export function drainedBeginPoll(state: LayerState, bs: BdsNode, held: AioContext | undefined, racy = false, walk: DrainWalk = NODE_AND_ABOVE): void {
  const ctx = state.aio.of(bs);
  if (ctx.isMain) return;
  const holds = ctx.leakedLocks + (ctx === held ? 1 : 0);
  drainCoroutineWait(state, bs, holds, "begin", walk);
  if (holds === 1) runStalledJobs(state, ctx);
  const job = busyJobAbove(bs);
  if (!job) return;
  if (holds === 0 && job.slowToPause && !racy) throw unlockNotOwned();
  if (holds === 0) {
    throw new ModelIoUnsupportedError(
      `a drained section of '${bs.name}' under ${job.jobType} job '${job.id}' in iothread '${ctx.name}' with no AioContext lock held (QEMU 7.2 aborts or goes on, as the job's timing has it)`,
    );
  }
  if (holds > 1) {
    throw new QemuHang(`a drained section of '${bs.name}' waits for ${job.jobType} job '${job.id}' in iothread '${ctx.name}', whose AioContext lock the main thread took and never gave back`);
  }
}

/**
 * The poll of a `bdrv_drained_end` the main thread makes on `bs` in its context, whose lock it
 * holds `holds` times (leaked ones included): it waits for the drain-end coroutines
 * bdrv_drain_invoke scheduled there (throttle's).
 */
export function drainedEndPoll(state: LayerState, bs: BdsNode, holds: number, walk: DrainWalk = NODE_AND_ABOVE): void {
  if (state.aio.of(bs).isMain) return;
  drainCoroutineWait(state, bs, holds, "end", walk);
}

/**
 * Which nodes a drained section reaches: the node and everything above it; with `recursive` (a
 * subtree section) everything below it too, each child with its other parents. `ignore` is the
 * edge the section came through (bdrv_do_drained_begin/_end's `parent`), whose parent it skips.
 */
export interface DrainWalk {
  recursive: boolean;
  ignore?: Child;
}

const NODE_AND_ABOVE: DrainWalk = { recursive: false };

/**
 * A drained section of `bs` quiesces `bs` and every node above it, and bdrv_drain_invoke schedules
 * the driver's drain callback of each that has one (qed's and throttle's begin, throttle's end) in
 * the node's AioContext, counting it in flight; the poll then waits for it. The main thread
 * usually gets to its first look before the iothread has run it (an aio_co_schedule away; in about
 * nine runs of ten on qemu-storage-daemon 7.2.22): without the context's lock, the wait releases a
 * lock it does not own and QEMU aborts, which the model takes as what happens; holding it twice,
 * the iothread never runs the callback.
 */
function drainCoroutineWait(state: LayerState, bs: BdsNode, holds: number, phase: "begin" | "end", walk: DrainWalk): void {
  const ctx = state.aio.of(bs);
  const node = drainCallbackIn(bs, phase, walk);
  if (!node) return;
  // aio_co_schedule into a deleted iothread's freed context: aio_context_ref and _unref of its freed
  // GSource finalize it a second time (qemu-storage-daemon 7.2.22 dies in glib, 6 runs of 6).
  if (ctx.destroyed) {
    throw freedContextUse(ctx, new QemuAbort("SIGSEGV", `the drain callback of ${node.driver.name} node '${node.name}' is scheduled in the AioContext of deleted iothread '${ctx.name}', which QEMU 7.2 freed`));
  }
  if (holds === 0) throw unlockNotOwned();
  if (holds > 1) {
    throw new QemuHang(`a drained section of '${bs.name}' waits for the drain callback of ${node.driver.name} node '${node.name}' in iothread '${ctx.name}', whose AioContext lock the main thread holds more than once`);
  }
}

/** The first node `walk` reaches from `bs` whose driver has a drain callback for `phase`. */
function drainCallbackIn(bs: BdsNode, phase: "begin" | "end", walk: DrainWalk): BdsNode | undefined {
  // A node reached from below is quiesced on its own and its parents told; one reached by the
  // subtree's descent is that too, and its children in turn. Either way once is enough to know.
  const above = new Set<BdsNode>();
  const below = new Set<BdsNode>();
  const stack: Array<{ node: BdsNode; recursive: boolean; ignore?: Child }> = [{ node: bs, ...walk }];
  while (stack.length > 0) {
    const { node, recursive, ignore } = stack.pop()!;
    const seen = recursive ? below : above;
    if (seen.has(node)) continue;
    seen.add(node);
    if (phase === "begin" ? node.driver.coDrainBegin : node.driver.coDrainEnd) return node;
    for (const c of node.parents) if (c !== ignore && c.parent.kind === "node") stack.push({ node: c.parent.node, recursive: false });
    if (recursive) for (const c of node.children) stack.push({ node: c.bs, recursive: true, ignore: c });
  }
  return undefined;
}

/** The first job the drain poll of `bs` finds running: parents are polled up the graph (bdrv_parent_drained_poll). */
function busyJobAbove(bs: BdsNode): JobParent | undefined {
  const seen = new Set<BdsNode>([bs]);
  const stack = [bs];
  while (stack.length > 0) {
    const node = stack.pop()!;
    for (const c of node.parents) {
      if (c.parent.kind === "job" && c.parent.job.busyWhenDrained()) return c.parent.job;
      if (c.parent.kind === "node" && !seen.has(c.parent.node)) {
        seen.add(c.parent.node);
        stack.push(c.parent.node);
      }
    }
  }
  return undefined;
}

/**
 * How a wait of the main thread for a coroutine in `ctx`, whose lock it does not hold, ends:
 * AIO_WAIT_WHILE releases the lock around its poll. A live iothread's mutex is not this thread's
 * (error_exit); a deleted iothread's was destroyed (qemu_mutex_unlock_impl's assertion).
 */
export function unlockedWaitAbort(ctx: AioContext): QemuAbort | ModelIoUnsupportedError {
  if (ctx.destroyed) return freedContextUse(ctx, new QemuAbort("SIGABRT", DESTROYED_MUTEX_UNLOCKED));
  return unlockNotOwned();
}
