/**
 * iothread objects (iothread.c, util/event-loop-base.c): object-add qom-type=iothread makes an
 * event loop with its own AioContext; object-del ends it.
 */
import { qdictKeyOrder } from "../../../qapi/qdict-order.js";
import type { BdsNode } from "../graph.js";
import type { LayerState } from "../layer-state.js";
import { ModelIoUnsupportedError } from "../data/io-error.js";
import { QemuAbort } from "../qemu-would-crash.js";
import { fail } from "../qmp-failure.js";
import { AioContext } from "./aio-contexts.js";

/** IothreadProperties' members in schema order (the order the output visitor inserts them). */
const PROPERTY_ORDER = ["aio-max-batch", "thread-pool-min", "thread-pool-max", "poll-max-ns", "poll-grow", "poll-shrink"];
/** THREAD_POOL_MAX_THREADS_DEFAULT. */
const THREAD_POOL_MAX_DEFAULT = 64n;
const INT_MAX = 2n ** 31n - 1n;
const INT64_MAX = 2n ** 63n - 1n;

/**
 * The iothread branch of user_creatable_add_type (the id was checked by the caller): every property
 * set in QDict order (`iothread_set_param` / `event_loop_base_set_param` refuse a negative value),
 * then the id is taken, then `iothread_complete` checks the thread pool's bounds
 * (`aio_context_set_thread_pool_params`).
 */
export function addIothread(state: LayerState, id: string, props: Record<string, unknown>): void {
  const ctx = new AioContext(id);
  for (const [key, value] of IOTHREAD_DEFAULTS) ctx.params.set(key, value);
  const keys = PROPERTY_ORDER.filter((k) => props[k] !== undefined);
  for (const key of qdictKeyOrder(keys)) setIothreadParam(ctx.params, key, BigInt(props[key] as number | bigint));
  if (objectIdTaken(state, id)) fail(`attempt to add duplicate property '${id}' to object (type 'container')`);
  // The child is added before completion and removed again when completion fails.
  state.qomObjects.insert(id);
  try {
    checkThreadPool(ctx.params);
  } catch (e) {
    state.qomObjects.remove(id);
    throw e;
  }
  ctx.threadId = ++state.aio.threadsStarted;
  state.aio.iothreads.set(id, ctx);
  for (const freed of destroyedInUse(state)) freed.mayBeTaken = true;
}

/** The contexts of deleted iothreads that a node or a job still points at. */
function destroyedInUse(state: LayerState): Set<AioContext> {
  const out = new Set<AioContext>();
  for (const node of state.nodes.values()) if (!node.freed && state.aio.of(node).destroyed) out.add(state.aio.of(node));
  for (const job of state.jobs) if (job.aioContext.destroyed) out.add(job.aioContext);
  return out;
}

/**
 * What using the freed context of a deleted iothread does: QEMU's `abort` while the memory is
 * free; once a later iothread may have taken it, the model cannot tell (AioContext.mayBeTaken).
 */
export function freedContextUse(ctx: AioContext, abort: QemuAbort): QemuAbort | ModelIoUnsupportedError {
  if (!ctx.mayBeTaken) return abort;
  return new ModelIoUnsupportedError(`a use of the AioContext of deleted iothread '${ctx.name}', whose freed memory the AioContext of an iothread made since may have taken`);
}

/** What iothread_instance_init and event_loop_base_instance_init leave (IOTHREAD_POLL_MAX_NS_DEFAULT on POSIX). */
const IOTHREAD_DEFAULTS: ReadonlyMap<string, bigint> = new Map([
  ["poll-max-ns", 32768n],
  ["poll-grow", 0n],
  ["poll-shrink", 0n],
  ["aio-max-batch", 0n],
  ["thread-pool-min", 0n],
  ["thread-pool-max", THREAD_POOL_MAX_DEFAULT],
]);

/** The iothread's properties in QOM's order (qom-list): the class property tables, iterated backwards. */
export const IOTHREAD_QOM_PROPERTIES = ["thread-pool-min", "aio-max-batch", "thread-pool-max", "poll-max-ns", "poll-grow", "poll-shrink"];

/** iothread_set_param / event_loop_base_set_param: a negative value is refused, anything else stored. */
function setIothreadParam(params: Map<string, bigint>, key: string, value: bigint): void {
  if (value < 0n) fail(`${key} value must be in range [0, ${INT64_MAX}]`);
  params.set(key, value);
}

/** aio_context_set_thread_pool_params' check. */
function checkThreadPool(params: Map<string, bigint>): void {
  const poolMin = params.get("thread-pool-min")!;
  const poolMax = params.get("thread-pool-max")!;
  if (poolMin > poolMax || poolMax === 0n || poolMin > INT_MAX || poolMax > INT_MAX) fail("bad thread-pool-min/thread-pool-max values");
}

/**
 * qom-set of a running iothread's property (the value already visited as an int64): stored once it
 * is not negative; a poll-* one then goes to the AioContext as it is (aio_context_set_poll_params
 * takes anything), an EventLoopBase one through iothread_set_aio_context_params, whose thread-pool
 * check can still refuse it after it was stored.
 */
export function setIothreadProperty(ctx: AioContext, key: string, value: bigint): void {
  setIothreadParam(ctx.params, key, value);
  if (!key.startsWith("poll-")) checkThreadPool(ctx.params);
}

/** Whether `/objects/ID` exists: iothreads, throttle groups and secrets share the one QOM container. */
export function objectIdTaken(state: LayerState, id: string): boolean {
  return state.objectExists(id);
}

/**
 * object-del of an iothread (iothread_instance_finalize → aio_ctx_finalize). QEMU 7.2 lets it go
 * even while nodes run in its AioContext and frees the context under them: its lock is destroyed
 * first, which aborts if the main thread holds it; then an armed timer (a qcow2 node's cache-clean
 * timer) aborts in timerlist_free. Otherwise the nodes stay in the freed context, and the next
 * command that takes its lock aborts (acquireContext).
 */
export function deleteIothread(state: LayerState, id: string): void {
  const ctx = state.aio.iothreads.get(id)!;
  if (ctx.leakedLocks > 0) throw new QemuAbort("SIGABRT", MUTEX_DESTROY_BUSY);
  const timed = [...state.nodes.values()].find((n) => !n.freed && !n.timerStranded && state.aio.of(n) === ctx && n.driver.timerArmed?.(n))?.name ?? ctx.strandedTimer;
  if (timed) throw new QemuAbort("SIGABRT", `iothread '${id}' was deleted while node '${timed}' has a timer armed in its AioContext: ${TIMERLIST_FREE}`);
  ctx.destroyed = true;
  state.aio.iothreads.delete(id);
  state.qomObjects.remove(id);
}

/**
 * `aio_context_acquire`: the lock of a context whose iothread was deleted is destroyed, and
 * qemu_mutex_lock_impl asserts that it is initialized.
 */
export function acquireContext(ctx: AioContext): void {
  if (ctx.destroyed) throw freedContextUse(ctx, new QemuAbort("SIGABRT", DESTROYED_MUTEX_LOCKED));
}

/** Whether a node still runs in a context whose iothread was deleted: quit takes its lock. */
export function nodeInDestroyedContext(state: LayerState): boolean {
  for (const node of state.nodes.values()) if (!node.freed && state.aio.of(node).destroyed) return true;
  return false;
}

/** `aio_context_acquire(bdrv_get_aio_context(bs))`. */
export function acquireNodeContext(state: LayerState, node: BdsNode): void {
  acquireContext(state.aio.of(node));
}

/**
 * The locks `bdrv_drain_all_begin` takes, each node's in turn (qmp_transaction's bdrv_drain_all,
 * blk_drain_all): one left in a deleted iothread's freed context aborts, whatever the caller names.
 */
export function acquireEveryNodeContext(state: LayerState): void {
  for (const bs of state.nodes.values()) if (!bs.freed) acquireNodeContext(state, bs);
}

/**
 * How QEMU ends at quit when it does not end cleanly: why it hangs, what it prints as it aborts, why
 * closing a node segfaults, or why the model cannot tell (QEMU's end varies from run to run).
 */
export type QuitEnd = { hang: string } | { abort: string } | { segfault: string } | { unknown: string };

/** What qemu_mutex_destroy prints when the mutex is locked (error_exit, then abort). */
export const MUTEX_DESTROY_BUSY = "qemu: qemu_mutex_destroy: Device or resource busy";

/** What taking the lock of a destroyed AioContext prints (qemu_mutex_lock_impl's assert). */
export const DESTROYED_MUTEX_LOCKED = "../../util/qemu-thread-posix.c:87: qemu_mutex_lock_impl: Assertion `mutex->initialized' failed.";

/** What releasing the lock of a destroyed AioContext prints (qemu_mutex_unlock_impl's assert). */
export const DESTROYED_MUTEX_UNLOCKED = "../../util/qemu-thread-posix.c:115: qemu_mutex_unlock_impl: Assertion `mutex->initialized' failed.";

const TIMERLIST_FREE = "../../util/qemu-timer.c:115: timerlist_free: Assertion `!timerlist_has_timers(timer_list)' failed.";

/**
 * After every node closed at quit, the iothreads are destroyed (user_creatable_cleanup): one where
 * a node closed without its driver left its cache-clean timer aborts in timerlist_free.
 */
export function strandedTimerAtQuit(state: LayerState): QuitEnd | undefined {
  for (const ctx of state.aio.iothreads.values()) {
    if (ctx.strandedTimer !== undefined && ctx.leakedLocks === 0) {
      return { abort: `iothread '${ctx.name}' is destroyed at quit with the cache-clean timer of node '${ctx.strandedTimer}' armed: ${TIMERLIST_FREE}` };
    }
  }
  return undefined;
}

/**
 * What a leaked iothread lock does at quit: the drain of every node waits for an iothread that can
 * run nothing while a node runs in it (a hang); else the iothread's destruction aborts.
 */
export function leakedLockAtQuit(state: LayerState): QuitEnd | undefined {
  for (const ctx of state.aio.iothreads.values()) {
    if (ctx.leakedLocks === 0) continue;
    const user = [...state.nodes.values()].find((n) => !n.freed && state.aio.of(n) === ctx);
    if (user) return { hang: `node '${user.name}' runs in iothread '${ctx.name}', whose lock the main thread took and never gave back: the drain at quit waits for it forever` };
  }
  for (const ctx of state.aio.iothreads.values()) if (ctx.leakedLocks > 0) return { abort: MUTEX_DESTROY_BUSY };
  return undefined;
}
