/**
 * Anonymous BlockBackends the block layer makes for itself (block-backend.c): a job's own users of
 * its nodes. `blk_new` puts it on the BlockBackend list at once (x-debug-query-block-graph shows it
 * there), `blk_insert_bs` attaches its root edge with fixed permissions (a root attach refreshes
 * from the child), `blk_unref` detaches it and takes it off the list.
 */
import type { AioContext } from "./aio-context/aio-contexts.js";
import { matchContextForInsert } from "./aio-context/attach-child-context.js";
import { drainedBeginPoll } from "./aio-context/main-thread-wait.js";
import { withDrained } from "./drain.js";
import type { BdsNode, BlockBackend, Child } from "./graph.js";
import { attachEdge, detachAndRelease } from "./graph-ops.js";
import type { LayerState } from "./layer-state.js";
import { refreshPerms } from "./perm-refresh.js";
import { BDRV_CHILD_FILTERED, BDRV_CHILD_PRIMARY } from "./roles.js";
import { runInTransaction, type Transaction } from "./transaction.js";

/** A BlockBackend with the permissions it will take (blk_new). */
export interface PendingBackend {
  bb: BlockBackend;
  perm: number;
  shared: number;
  /** The context blk_new gave it; undefined: that of the node it will be inserted over. */
  ctx: AioContext | undefined;
}

/** `blk_new`: on the list, no node yet. */
export function blkNew(state: LayerState, perm: number, shared: number, ctx?: AioContext): PendingBackend {
  const bb: BlockBackend = { serial: state.nextSerial(), root: null };
  state.backends.add(bb);
  return { bb, perm, shared, ctx };
}

/**
 * `blk_insert_bs` → `bdrv_root_attach_child`: the node first moves into the BlockBackend's
 * context, then the permissions are refreshed. Throws either's QmpFailure. `held`: the context
 * whose lock the caller holds (TryChangeOptions), by default the node's.
 */
export function blkInsertBs(state: LayerState, blk: PendingBackend, bs: BdsNode, held: AioContext = state.aio.of(bs)): void {
  runInTransaction((tran) => {
    if (blk.ctx) matchContextForInsert(state, blk.ctx, bs, tran, held);
    attachRoot(state, blk, bs, tran);
  });
}

/** The root edge and the refresh from `bs`, inside a caller's transaction. */
export function attachRoot(state: LayerState, blk: PendingBackend, bs: BdsNode, tran: Transaction): Child {
  const root = attachEdge({ kind: "bb", bb: blk.bb }, bs, "root", BDRV_CHILD_FILTERED | BDRV_CHILD_PRIMARY, tran, { perm: blk.perm, shared: blk.shared });
  blk.bb.root = root;
  tran.add({
    abort: () => {
      blk.bb.root = null;
    },
  });
  refreshPerms(state, [bs], tran);
  return root;
}

/** `blk_new_with_bs`: both, and on failure the BlockBackend is gone again. */
export function blkNewWithBs(state: LayerState, bs: BdsNode, perm: number, shared: number): BlockBackend {
  const blk = blkNew(state, perm, shared);
  try {
    blkInsertBs(state, blk, bs);
  } catch (e) {
    blkUnref(state, blk.bb);
    throw e;
  }
  return blk.bb;
}

/**
 * The drained sections `blk_unref` of the last reference takes on the root node `bs`: blk_unref
 * drains the BlockBackend (`blk_drain`), then `blk_remove_bs` drains it again before its root edge
 * goes. A block job using `bs` or anything above it pauses and resumes in each, so a READY job
 * shows a standby/ready pair per section. Every BlockBackend that goes away does this: an export's,
 * a job's own, qemu-io's, and the probing one `bdrv_open_inherit` puts on a format node's file.
 * Each drain's poll waits for such a job, which in an iothread needs the lock of `bs`'s context:
 * `held` is the context whose lock the caller holds, the node's own for all of them but the probe
 * (blockdev-add holds none).
 */
export function blkUnrefDrains(state: LayerState, bs: BdsNode, held: AioContext | undefined): void {
  for (let i = 0; i < 2; i++) {
    drainedBeginPoll(state, bs, held);
    withDrained(state, bs, () => undefined);
  }
}

/** `blk_unref` of the last reference: two drains, the root edge goes (perms relax), then the BlockBackend. */
export function blkUnref(state: LayerState, bb: BlockBackend): void {
  if (bb.root) blkUnrefDrains(state, bb.root.bs, state.aio.of(bb.root.bs));
  if (bb.root) detachAndRelease(state, bb.root);
  bb.root = null;
  state.backends.delete(bb);
}
