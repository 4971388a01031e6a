/**
 * The AioContext part of block.c `bdrv_attach_child_common` (QEMU 7.2): before a new edge joins a
 * parent to a node in another context, first the node (and everything connected to it) is moved
 * into the parent's context; if that is refused, the parent is moved into the node's instead; if
 * both are refused, the attach fails with the first refusal. Either move takes effect at once (in
 * its own transaction); the attach's transaction undoes it on abort
 * (`bdrv_attach_child_common_abort`).
 */
import type { BdsNode, ParentRef } from "../graph.js";
import type { LayerState } from "../layer-state.js";
import { qemuErrorAbort } from "../qemu-would-crash.js";
import { fail } from "../qmp-failure.js";
import { runInTransaction, type Transaction } from "../transaction.js";
import type { AioContext } from "./aio-contexts.js";
import { changeInOwnTransaction, changeParentOf, moveToMainAfterDetach, tryChangeAioContext, Visited } from "./change-aio-context.js";

/** `bdrv_child_get_parent_aio_context`: a node's own, a BlockBackend's (its root's), a job's (its first node's). */
export function parentAioContext(state: LayerState, parent: ParentRef, child: BdsNode): AioContext {
  switch (parent.kind) {
    case "node":
      return state.aio.of(parent.node);
    case "bb":
      return parent.bb.root ? state.aio.of(parent.bb.root.bs) : state.aio.of(child);
    case "job":
      // block_job_create puts the job in its main node's context, which it attaches first.
      return state.aio.of(child);
  }
}

/**
 * Make `parent` and `childBs` share a context before the edge is attached (call it right before
 * attachEdge, in the same transaction: the undo recorded here then runs after the edge is gone, as
 * QEMU's abort detaches first). `held` is the context whose lock the caller holds (see
 * TryChangeOptions). Throws QmpFailure with the first refusal.
 *
 * `committed` says when bdrv_attach_child's own transaction has committed (a driver's open attaches
 * its children that way, inside the caller's transaction in the model): an abort after that is
 * not bdrv_attach_child_common_abort but the failed node's close, whose bdrv_root_unref_child
 * moves the child to the main loop if nothing keeps it elsewhere, and restores no context.
 */
export function matchContextsForAttach(
  state: LayerState,
  parent: ParentRef,
  childBs: BdsNode,
  tran: Transaction,
  held: AioContext | undefined,
  committed?: () => boolean,
): void {
  const childCtx = state.aio.of(childBs);
  const parentCtx = parentAioContext(state, parent, childBs);
  if (childCtx === parentCtx) return;
  const refusal = tryChangeAioContext(state, childBs, parentCtx, { held });
  if (refusal !== undefined) {
    // QEMU marks the new edge visited; it is not attached yet, so nothing would reach it anyway.
    const parentRefusal = changeInOwnTransaction((t) => changeParentOf(state, parent, childCtx, new Visited(held), t));
    // The parent's move runs its transaction straight away (child_class->change_aio_ctx and
    // tran_finalize): no lock is released or taken, a deleted iothread's context included.
    if (parentRefusal !== undefined) fail(refusal);
  }
  tran.add({
    abort: () => {
      if (committed?.()) moveToMainAfterDetach(state, childBs, held ?? null);
      else restoreContexts(state, parent, childBs, childCtx, parentCtx);
    },
  });
}

/**
 * The same for a new BlockBackend's root edge (`blk_insert_bs` of one `blk_new` made for `ctx`):
 * blk_new leaves allow_aio_context_change false, and the callers that allow a change do so only
 * once the node is inserted, so the BlockBackend refuses to follow: the node moves into `ctx`, or
 * the insert fails with the node's refusal. An abort moves it back, with the caller's lock still
 * held: moving back into that iothread, bdrv_try_change_aio_context takes the lock a second time
 * for its drained end, which then waits for the iothread (a throttle node's drain callback) for ever.
 */
export function matchContextForInsert(state: LayerState, ctx: AioContext, childBs: BdsNode, tran: Transaction, held: AioContext | undefined): void {
  const childCtx = state.aio.of(childBs);
  if (childCtx === ctx) return;
  const refusal = tryChangeAioContext(state, childBs, ctx, { held });
  if (refusal !== undefined) fail(refusal);
  tran.add({
    abort: () => {
      if (state.aio.of(childBs) === childCtx) return;
      const problem = tryChangeAioContext(state, childBs, childCtx, { held });
      if (problem !== undefined) qemuErrorAbort(REFUSAL_SET_AT, problem);
    },
  });
}

/**
 * Where the only refusal there is gets set (error_setg in blk_root_change_aio_ctx), which is what
 * &error_abort reports. v7.2.0's line: a move back into the old contexts is not expected to be
 * refused ("transaction is supposed to always succeed"), so no run has shown Debian's.
 */
const REFUSAL_SET_AT = { file: "../../block/block-backend.c", line: 2221, func: "blk_root_change_aio_ctx" };

/**
 * `bdrv_attach_child_common_abort` after the edge was detached: the child goes back to its old
 * context (with &error_abort, and no lock held), then the parent to its own.
 */
function restoreContexts(state: LayerState, parent: ParentRef, childBs: BdsNode, oldChildCtx: AioContext, oldParentCtx: AioContext): void {
  if (state.aio.of(childBs) !== oldChildCtx) {
    const refusal = tryChangeAioContext(state, childBs, oldChildCtx, { held: undefined });
    if (refusal !== undefined) qemuErrorAbort(REFUSAL_SET_AT, refusal);
  }
  if (parentAioContext(state, parent, childBs) !== oldParentCtx) {
    const problem = runInTransaction((t) => changeParentOf(state, parent, oldParentCtx, new Visited(undefined), t));
    if (problem !== undefined) qemuErrorAbort(REFUSAL_SET_AT, problem);
  }
}
