/**
 * Graph mutations, each recording how to finish in a Transaction: register a node name, attach and
 * detach edges; and freeing nodes whose last reference went away (`bdrv_delete`).
 */
import { QemuAbort } from "./qemu-would-crash.js";
import { bdrvFlushQuietly } from "./data/block-io.js";
import { ModelIoUnsupportedError } from "./data/io-error.js";
import { type AioContext, strandDriverTimer } from "./aio-context/aio-contexts.js";
import { moveToMainAfterDetach } from "./aio-context/change-aio-context.js";
import { waitForNodeCoroutine } from "./aio-context/main-thread-wait.js";
import { moveEdgeDrains } from "./drain.js";
import type { DriverHost } from "./drivers/driver.js";
import { type BdsNode, type Child, type ParentRef, removeFrom } from "./graph.js";
import type { LayerState } from "./layer-state.js";
import { refreshPerms } from "./perm-refresh.js";
import { BLK_PERM_ALL } from "./perms.js";
import { qemuAssert } from "./qemu-would-crash.js";
import { QmpFailure } from "./qmp-failure.js";
import { runInTransaction, type Transaction } from "./transaction.js";


/** What QEMU 7.2 prints when it releases a dirty bitmap that is in use. */
export const BUSY_BITMAP_RELEASED = "../../block/dirty-bitmap.c:258: bdrv_release_dirty_bitmap_locked: Assertion `!bdrv_dirty_bitmap_busy(bitmap)' failed.";
/** bdrv_close's check once the named bitmaps are released: an anonymous one (a job's, a filter's) outlived its owner's hold on the node. */
export const BITMAP_LEFT_AT_CLOSE = "../../block.c:4962: bdrv_close: Assertion `QLIST_EMPTY(&bs->dirty_bitmaps)' failed.";
/** Insert a named node at the end of graph_bdrv_states; an abort drops it again. */
export function registerNode(state: LayerState, node: BdsNode, tran: Transaction): void {
  state.nodes.set(node.name, node);
  node.slots = state.childSlots;
  tran.add({
    abort: () => {
      state.nodes.delete(node.name);
      node.freed = true;
    },
  });
}

/** `bdrv_attach_child_noperm`: a new edge at the head of both lists; perms come from the refresh. */
export function attachEdge(
  parent: ParentRef,
  bs: BdsNode,
  name: string,
  role: number,
  tran: Transaction,
  perms: { perm: number; shared: number } = { perm: 0, shared: BLK_PERM_ALL },
): Child {
  const c: Child = { name, role, parent, bs, perm: perms.perm, shared: perms.shared, fresh: true };
  bs.slots?.allocate(c);
  attachLists(c);
  tran.add({ abort: () => detachLists(c) });
  return c;
}

/**
 * Remove an edge from both lists, inside a transaction. On abort QEMU re-attaches the child
 * (`bdrv_replace_child_abort`), which inserts it at the head of both lists, not at its old place:
 * after a failed reopen that tried to replace `file`, `file` is listed after `backing`.
 */
export function removeEdge(c: Child, tran: Transaction): void {
  detachLists(c);
  tran.add({ abort: () => attachLists(c) });
}

/**
 * `bdrv_replace_child_tran`: the edge now points at `to`. It leaves the old node's parents and its
 * parent's children and goes to the head of both lists (QEMU's detach and attach callbacks), so a
 * replaced child is listed as the newest. An abort moves it back the same way.
 */
export function replaceChildBs(c: Child, to: BdsNode, tran: Transaction): void {
  const from = c.bs;
  const wasStale = c.stale === true;
  moveChild(c, to);
  // Its perms stay what they were until its parent is refreshed (QEMU refreshes `to` and `from`
  // after a replace, not the parents that moved).
  to.slots?.markStale(c, true);
  tran.add({
    abort: () => {
      moveChild(c, from);
      to.slots?.markStale(c, wasStale);
    },
  });
}

function moveChild(c: Child, to: BdsNode): void {
  assertNotFrozen(c);
  moveEdgeDrains(c, true, to, () => {
    if (c.parent.kind === "node") removeFrom(c.parent.node.children, c);
    removeFrom(c.bs.parents, c);
    c.bs = to;
    c.attachSeq = ++attachCounter;
    to.parents.push(c);
    if (c.parent.kind === "node") c.parent.node.children.push(c);
  });
}

/**
 * Attach order across the whole graph: the op blockers an attach sets (a backing file's blocker, a
 * job's) are listed newest first, and this orders them (op-blockers.ts). Only the order matters.
 */
let attachCounter = 0;

/** The next number in that order, for an op blocker set without an attach. */
export function nextGraphSeq(): number {
  return ++attachCounter;
}

/** Insert a (new or re-attached) edge at the head of both lists, passing on the child's drains. */
function attachLists(c: Child): void {
  c.attachSeq = ++attachCounter;
  moveEdgeDrains(c, false, c.bs, () => {
    if (c.parent.kind === "node") c.parent.node.children.push(c);
    c.bs.parents.push(c);
  });
}

/**
 * `bdrv_replace_child_noperm` asserts that a frozen link never moves: callers check first and fail
 * cleanly, but a node freed while a job froze the link below it (a named job filter that lost its
 * last parent) takes QEMU down.
 */
function assertNotFrozen(c: Child): void {
  if (c.frozen) qemuAssert({ file: "../../block.c", line: 2838, func: "bdrv_replace_child_noperm" }, "!child->frozen");
}

/** Take an edge out of both lists; the parent leaves the child's drained sections. */
function detachLists(c: Child): void {
  assertNotFrozen(c);
  moveEdgeDrains(c, true, null, () => {
    if (c.parent.kind === "node") removeFrom(c.parent.node.children, c);
    removeFrom(c.bs.parents, c);
  });
}

/** Whether nothing holds the node any more (no parent edge, not owned by the monitor, no code holding it). */
export function unreferenced(node: BdsNode): boolean {
  return node.parents.length === 0 && !node.monitorOwned && !node.heldRefs;
}

/** `bdrv_ref`: hold the node across a change that may drop its last edge. */
export function bdrvRef(node: BdsNode): void {
  node.heldRefs = (node.heldRefs ?? 0) + 1;
}

/** `bdrv_unref` of a reference taken with bdrvRef: the node is freed if that was the last one. */
export function bdrvUnref(state: LayerState, node: BdsNode): void {
  node.heldRefs = (node.heldRefs ?? 0) - 1;
  if (!node.freed && unreferenced(node)) freeNode(state, node);
}

/**
 * `bdrv_detach_child` outside a transaction: the edge goes, the old child's perms are refreshed with
 * errors ignored (only restrictions are lifted), it moves back to the main AioContext if it can, and
 * the child is freed if that was its last reference. `held` is the context whose lock the caller
 * holds (null: none); left out, the caller holds the child's own, as most callers do.
 */
export function detachAndRelease(state: LayerState, c: Child, held?: AioContext | null): void {
  detachLists(c);
  relaxPerms(state, c.bs);
  moveToMainAfterDetach(state, c.bs, held === undefined ? state.aio.of(c.bs) : held);
  if (unreferenced(c.bs)) freeNode(state, c.bs, held);
}

/** `bdrv_refresh_perms(bs, NULL, NULL)`: a refresh in its own transaction, its failure ignored. */
export function relaxPerms(host: DriverHost, node: BdsNode): void {
  if (node.freed) return;
  try {
    runInTransaction((tran) => refreshPerms(host, [node], tran));
  } catch (e) {
    if (!(e instanceof QmpFailure)) throw e;
  }
}

/**
 * `bdrv_delete` → `bdrv_close`: the driver closes first, then the children go newest-first (each
 * relaxed, moved back to the main loop, and freed at once when that was its last reference, its
 * own close done before its parent's goes on), and then the node's bitmaps are checked. `held` is
 * the context whose lock the caller holds (null: none); left out, the caller holds each node's
 * own. Where it is none and the node runs in an iothread, bdrv_close's flush may abort QEMU or not
 * (aio-context/main-thread-wait.ts), and a child's move back to the main loop does abort it; when
 * no such move follows, the model cannot say which, and refuses. The recursion is an explicit
 * stack: a chain may be longer than the call stack is deep.
 */
export function freeNode(state: LayerState, root: BdsNode, held?: AioContext | null): void {
  let raced: { node: BdsNode; ctx: AioContext } | undefined;
  /** The nodes being closed, innermost last, with the index of the child each detaches next. */
  const closing: Array<{ node: BdsNode; next: number }> = [];
  const close = (node: BdsNode) => {
    if (node.freed) return;
    node.freed = true;
    state.nodes.delete(node.name);
    // bdrv_close: what the node wrote reaches the disk first.
    if (waitForNodeCoroutine(state, node, held === undefined ? state.aio.of(node) : held, "bdrv_close's flush") === "race") raced ??= { node, ctx: state.aio.of(node) };
    bdrvFlushQuietly(state, node);
    // A node without its driver (qcow2_signal_corruption) closes nothing: its caches are lost.
    if (!node.ejected) node.driver.close?.(node, state);
    else strandDriverTimer(state.aio.of(node), node);
    closing.push({ node, next: node.children.length - 1 });
  };
  close(root);
  while (closing.length > 0) {
    const frame = closing[closing.length - 1]!;
    const node = frame.node;
    if (frame.next >= 0) {
      const c = node.children[frame.next--]!;
      detachLists(c);
      relaxPerms(state, c.bs);
      moveToMainAfterDetach(state, c.bs, held === undefined ? state.aio.of(c.bs) : held);
      // bdrv_unref_child: the child's bdrv_delete runs inside its parent's close.
      if (unreferenced(c.bs)) close(c.bs);
      continue;
    }
    closing.pop();
    // bdrv_release_named_dirty_bitmaps: one an export of another node still publishes is busy.
    if (node.dirtyBitmaps?.some((b) => b.name !== undefined && b.busy)) throw new QemuAbort("SIGABRT", BUSY_BITMAP_RELEASED);
    // What is left is what its maker frees only later: copy-before-write's copy bitmap, when
    // bdrv_drop_filter detached the filter's last link to its source before the filter closed.
    if (node.dirtyBitmaps?.some((b) => b.name === undefined)) throw new QemuAbort("SIGABRT", BITMAP_LEFT_AT_CLOSE);
  }
  if (raced) {
    throw new ModelIoUnsupportedError(
      `freeing node '${raced.node.name}' in iothread '${raced.ctx.name}' with no AioContext lock held (QEMU 7.2 aborts in bdrv_close's flush or goes on, as timing has it)`,
    );
  }
}
