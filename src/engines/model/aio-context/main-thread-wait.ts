/**
 * A coroutine wrapper (`bdrv_flush` and the other `generated_co_wrapper`s) called from the main
 * thread on a node in an iothread: `bdrv_coroutine_enter` schedules the coroutine in the node's
 * context, and the iothread takes that context's lock to run it (`co_schedule_bh_cb`). The main
 * thread waits with `AIO_WAIT_WHILE`, which releases the lock once around each poll of the main
 * loop. So the wait works only when the main thread holds the lock exactly once: not at all, and
 * the release aborts; more than once (a lock leaked by block_resize, plus the caller's), and the
 * iothread never gets it.
 */
import type { BdsNode } from "../graph.js";
import type { LayerState } from "../layer-state.js";
import { QemuAbort } from "../qemu-would-crash.js";
import { QemuHang } from "../qemu-would-hang.js";
import type { AioContext } from "./aio-contexts.js";

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
  return holds === 0 ? "race" : "ok";
}
