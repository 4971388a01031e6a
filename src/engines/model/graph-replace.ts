/**
 * Replacing nodes in the graph (block.c): `bdrv_replace_node` moves every parent of one node to
 * another, `bdrv_append` puts a new node on top of one (how a job inserts its filter), and
 * `bdrv_drop_filter` takes a filter out again. Each is one transaction: the edges move first, then
 * permissions are refreshed from the new node and the old one; a failure moves them all back.
 * A node no one holds any more afterwards is freed.
 */
import type { AioContext } from "./aio-context/aio-contexts.js";
import { matchContextsForAttach } from "./aio-context/attach-child-context.js";
import { filterOrCowBs, filterOrCowChild } from "./chain.js";
import { withDrained } from "./drain.js";
import { type BdsNode, type Child, checkNoCycle } from "./graph.js";
import { attachEdge, bdrvRef, bdrvUnref, freeNode, removeEdge, replaceChildBs, unreferenced } from "./graph-ops.js";
import type { LayerState } from "./layer-state.js";
import { refreshPerms } from "./perm-refresh.js";
import { qemuAssert } from "./qemu-would-crash.js";
import { refreshLimits } from "./refresh-limits.js";
import { fail } from "./qmp-failure.js";
import { BDRV_CHILD_COW, BDRV_CHILD_FILTERED, BDRV_CHILD_PRIMARY } from "./roles.js";
import { runInTransaction, type Transaction } from "./transaction.js";

/**
 * `should_update_child`: a job's edge stays where it is (`stay_at_node`), and so does an edge that
 * `to` reaches itself (moving it would make a loop: the new top's own link to the old one).
 */
function shouldUpdateChild(c: Child, to: BdsNode): boolean {
  if (c.parent.kind === "job") return false;
  const found = new Set<BdsNode>([to]);
  const queue = [to];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (let i = v.children.length - 1; i >= 0; i--) {
      const c2 = v.children[i]!;
      if (c2 === c) return false;
      if (found.has(c2.bs)) continue;
      found.add(c2.bs);
      queue.push(c2.bs);
    }
  }
  return true;
}

/** `bdrv_replace_node_noperm`: every parent of `from` (newest first) now points at `to`. */
function replaceNodeNoperm(from: BdsNode, to: BdsNode, autoSkip: boolean, tran: Transaction): void {
  for (const c of [...from.parents].reverse()) {
    if (!shouldUpdateChild(c, to)) {
      if (autoSkip) continue;
      fail(`Should not change '${c.name}' link to '${from.name}'`);
    }
    if (c.frozen) fail(`Cannot change '${c.name}' link to '${from.name}'`);
    replaceChildBs(c, to, tran);
  }
}

/** Free `node` if the operation dropped its last reference (`bdrv_unref`). */
export function releaseIfUnused(state: LayerState, node: BdsNode | null): void {
  if (node && !node.freed && unreferenced(node)) freeNode(state, node);
}

/**
 * `bdrv_replace_node_common`. With `detachSubchain`, `to` is below `from`, and the link to `to`
 * from the node just above it is removed as well (what bdrv_drop_filter uses). `from` is held
 * meanwhile, and freed at the end if no one else holds it.
 */
export function replaceNodeCommon(state: LayerState, from: BdsNode, to: BdsNode, autoSkip: boolean, detachSubchain: boolean): void {
  let toCowParent: BdsNode | null = null;
  if (detachSubchain) {
    for (toCowParent = from; filterOrCowBs(toCowParent) !== to; toCowParent = filterOrCowBs(toCowParent)) {
      if (!toCowParent) qemuAssert({ file: "../../block.c", line: 5163, func: "bdrv_replace_node_common" }, "bdrv_chain_contains(from, to)");
    }
  }
  let removed: BdsNode | null = null;
  bdrvRef(from);
  try {
    withDrained(state, from, () =>
    runInTransaction((tran) => {
      replaceNodeNoperm(from, to, autoSkip, tran);
      if (toCowParent) {
        const link = filterOrCowChild(toCowParent)!;
        removed = link.bs;
        removeEdge(link, tran);
      }
      refreshPerms(state, [to, from], tran);
    }),
    );
  } finally {
    releaseIfUnused(state, removed);
    bdrvUnref(state, from);
  }
}

/** `bdrv_replace_node`. */
export function replaceNode(state: LayerState, from: BdsNode, to: BdsNode): void {
  replaceNodeCommon(state, from, to, true, false);
}

/** `bdrv_drop_filter`: the filter's parents go to its child, and the filter lets go of the child. */
export function dropFilter(state: LayerState, bs: BdsNode): void {
  const below = filterOrCowBs(bs);
  if (!below) throw new Error(`model bug: filter '${bs.name}' has no child to drop it onto`);
  replaceNodeCommon(state, bs, below, true, true);
}

/** `bdrv_backing_role`. */
export function backingRole(bs: BdsNode): number {
  return bs.driver.isFilter ? BDRV_CHILD_FILTERED | BDRV_CHILD_PRIMARY : BDRV_CHILD_COW;
}

/**
 * `bdrv_append`: `bsNew` (without a backing child) takes `bsTop` as its backing child and every
 * parent of `bsTop` that may move; only `bsNew`'s permissions are refreshed (the moved edges keep
 * theirs). Throws the refresh's QmpFailure, with the graph as it was. Attaching the backing child
 * makes the two share an AioContext first (bdrv_attach_child_common): `bsTop` and what is connected
 * to it follow `bsNew`, or else `bsNew` follows `bsTop`; `held` is the context whose lock the
 * caller holds (TryChangeOptions), which for every caller is `bsTop`'s.
 */
export function bdrvAppend(state: LayerState, bsNew: BdsNode, bsTop: BdsNode, held: AioContext): void {
  try {
    runInTransaction((tran) => {
      checkNoCycle(bsNew, bsTop, "backing");
      matchContextsForAttach(state, { kind: "node", node: bsNew }, bsTop, tran, held);
      attachEdge({ kind: "node", node: bsNew }, bsTop, "backing", backingRole(bsNew), tran);
      replaceNodeNoperm(bsTop, bsNew, true, tran);
      refreshPerms(state, [bsNew], tran);
    });
  } finally {
    // After the transaction, however it ended: the old top's limits, not the new node's.
    refreshLimits(bsTop);
  }
}
