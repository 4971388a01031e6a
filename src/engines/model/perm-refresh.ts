/**
 * `bdrv_list_refresh_perms` of QEMU 7.2: after the graph was changed inside a transaction, visit
 * nodes in topological order (`bdrv_topological_dfs`, children newest-first, later start nodes
 * first) and for each: the parent-pair conflict check, the read-only and alignment checks, the
 * driver's check (file locks), then the new permissions of its child edges.
 *
 * QEMU visits every descendant of the start nodes, which makes building an N-deep chain O(N²). The
 * model first finds the nodes whose inputs (incoming edge permissions, new edges, reopen state) can
 * change at all, and visits only those, still in QEMU's relative order. The others were consistent
 * before and get identical inputs, so they cannot fail and would compute identical child perms.
 */
import type { PermPair } from "./child-perms.js";
import { requestAlignment } from "./data/block-io.js";
import type { DriverHost } from "./drivers/driver.js";
import { type BdsNode, type Child, parentDescription } from "./graph.js";
import { totalSectorsLength } from "./node-length.js";
import { BLK_PERM_ALL, BLK_PERM_RESIZE, BLK_PERM_WRITE, BLK_PERM_WRITE_UNCHANGED, permNamesForMessage } from "./perms.js";
import { qemuAssert } from "./qemu-would-crash.js";
import { fail } from "./qmp-failure.js";
import type { Transaction } from "./transaction.js";

/** Post-reopen read-only flags of the nodes in a reopen queue (`bdrv_is_writable_after_reopen`). */
export type ReopenFlags = ReadonlyMap<BdsNode, boolean>;

function writableAfter(node: BdsNode, q: ReopenFlags | undefined): boolean {
  const ro = q?.get(node);
  return !(ro ?? node.readOnly);
}

/** Cumulative perm (OR) and shared perm (AND) over the edges into `node`. */
export function cumulativePerms(node: BdsNode, override?: ReadonlyMap<Child, PermPair>): PermPair {
  let perm = 0;
  let shared = BLK_PERM_ALL;
  for (const c of node.parents) {
    const o = override?.get(c);
    perm |= o ? o[0] : c.perm;
    shared &= o ? o[1] : c.shared;
  }
  return [perm, shared];
}

/** `bdrv_child_perm`: the driver's rule, then force-share on the child shares everything. */
export function childPerms(node: BdsNode, child: Child, P: number, S: number, writable: boolean): PermPair {
  const rule = node.driver.childPerm;
  if (!rule) qemuAssert({ file: "../../block.c", line: 2262, func: "bdrv_child_perm" }, "bs->drv && bs->drv->bdrv_child_perm");
  const pair = rule({ node, child, P, S, writable });
  if (child.bs.forceShare) pair[1] = BLK_PERM_ALL;
  return pair;
}

/** Nodes whose inputs may change, and the set of edges whose permissions change. */
function findDirty(starts: readonly BdsNode[], q: ReopenFlags | undefined): Set<BdsNode> {
  const tentative = new Map<Child, PermPair>();
  const dirty = new Set<BdsNode>(starts);
  // QEMU refreshes every node below the starts; below an unchanged edge that changes nothing,
  // unless an edge down there still holds perms from before a replace, or a node there changed
  // its length since it was last checked (child-slots.ts).
  const aboveStale = starts[0]?.slots?.aboveStale();
  const work = [...starts];
  while (work.length > 0) {
    const n = work.pop()!;
    // A driver without child rules has no children; if it had, the refresh itself says so (below).
    if (!n.driver.childPerm) continue;
    const [P, S] = cumulativePerms(n, tentative);
    const writable = writableAfter(n, q);
    for (const c of n.children) {
      const next = childPerms(n, c, P, S, writable);
      const cur = tentative.get(c) ?? [c.perm, c.shared];
      const changed = next[0] !== cur[0] || next[1] !== cur[1];
      if (changed) tentative.set(c, next);
      if (changed || c.fresh || q?.has(c.bs) || aboveStale?.has(c.bs)) {
        if (!dirty.has(c.bs)) {
          dirty.add(c.bs);
          work.push(c.bs);
        } else if (changed) {
          work.push(c.bs);
        }
      }
    }
  }
  return dirty;
}

/**
 * `bdrv_topological_dfs` for each start in turn, sharing `found`, then only the dirty nodes. QEMU
 * walks clean nodes too, and a dirty node first reached through a clean one takes its place in the
 * order from that path (the order decides which failing node's error is reported). So the walk
 * also enters the clean nodes above a dirty one, and only those: the others change nothing.
 */
function topologicalOrder(starts: readonly BdsNode[], dirty: ReadonlySet<BdsNode>): BdsNode[] {
  const above = new Set<BdsNode>();
  for (const d of dirty) {
    const up = [d];
    while (up.length > 0) {
      for (const c of up.pop()!.parents) {
        if (c.parent.kind !== "node" || above.has(c.parent.node)) continue;
        above.add(c.parent.node);
        up.push(c.parent.node);
      }
    }
  }
  const found = new Set<BdsNode>();
  const post: BdsNode[] = [];
  for (const start of starts) {
    if (found.has(start)) continue;
    found.add(start);
    // Explicit stack of (node, next child index counting down = newest first): chains are deep.
    const stack: Array<[BdsNode, number]> = [[start, start.children.length - 1]];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const [n, i] = top;
      if (i < 0) {
        stack.pop();
        if (dirty.has(n)) post.push(n);
        continue;
      }
      top[1] = i - 1;
      const c = n.children[i]!.bs;
      if (!found.has(c) && (dirty.has(c) || above.has(c))) {
        found.add(c);
        stack.push([c, c.children.length - 1]);
      }
    }
  }
  return post.reverse();
}

/** `bdrv_parent_perms_conflict`: parents newest-first; b needs, a unshares. */
export function parentPermsConflict(node: BdsNode): void {
  const ps = node.parents;
  for (let i = ps.length - 1; i >= 0; i--) {
    const a = ps[i]!;
    for (let j = ps.length - 1; j >= 0; j--) {
      if (i === j) continue;
      const b = ps[j]!;
      const missing = b.perm & ~a.shared & BLK_PERM_ALL;
      if (missing) {
        fail(
          `Permission conflict on node '${node.name}': permissions '${permNamesForMessage(missing)}' are both ` +
            `required by ${parentDescription(b.parent)} (uses node '${node.name}' as '${b.name}' child) and ` +
            `unshared by ${parentDescription(a.parent)} (uses node '${node.name}' as '${a.name}' child).`,
        );
      }
    }
  }
}

/** Set an edge's permissions inside the transaction. */
export function setChildPerm(c: Child, perm: number, shared: number, tran: Transaction): void {
  if (c.perm === perm && c.shared === shared) return;
  const old: PermPair = [c.perm, c.shared];
  c.perm = perm;
  c.shared = shared;
  tran.add({
    abort: () => {
      c.perm = old[0];
      c.shared = old[1];
    },
  });
}

/**
 * `bdrv_drv_set_perm`: the driver checks (and may prepare, e.g. lock bytes) the new cumulative perms;
 * then the transaction tells it how things ended (`bdrv_drv_set_perm_commit` hands it the cumulative
 * perms as they are at commit, `_abort` lets it go back).
 */
function drvSetPerm(host: DriverHost, node: BdsNode, perm: number, shared: number, tran: Transaction): void {
  const drv = node.driver;
  drv.checkPerm?.(node, perm, shared, host);
  // QEMU adds the action for every node; one that would do nothing either way is left out here.
  if (!drv.setPerm && !drv.abortPermUpdate) return;
  tran.add({
    // A node freed by an older commit action of this transaction has closed and holds nothing.
    commit: () => {
      if (node.freed || !drv.setPerm) return;
      const [p, s] = cumulativePerms(node);
      drv.setPerm(node, p, s, host);
    },
    abort: () => {
      if (!node.freed) drv.abortPermUpdate?.(node, host);
    },
  });
}

/** `bdrv_node_refresh_perm`: the read-only and alignment checks, the driver's, then the child edges. */
export function nodeRefreshPerm(host: DriverHost, node: BdsNode, q: ReopenFlags | undefined, tran: Transaction): void {
  const [P, S] = cumulativePerms(node);
  const writable = writableAfter(node, q);
  if (P & (BLK_PERM_WRITE | BLK_PERM_WRITE_UNCHANGED) && !writable) {
    if (node.readOnly) fail("Block node is read-only");
    fail(`Read-only block node '${node.name}' cannot support read-write users`);
  }
  if (P & (BLK_PERM_WRITE | BLK_PERM_WRITE_UNCHANGED) && !(P & BLK_PERM_RESIZE)) {
    const bytes = totalSectorsLength(node);
    // bl.request_alignment after the driver's refresh_limits (a compress filter's is the cluster size).
    if (bytes % requestAlignment(node) !== 0) {
      fail("Cannot get 'write' permission without 'resize': Image size is not a multiple of request alignment");
    }
  }
  node.slots?.markResized(node, false);
  drvSetPerm(host, node, P, S, tran);
  if (!node.driver.childPerm) {
    // Drivers that never have children omit .bdrv_child_perm.
    if (node.children.length > 0) qemuAssert({ file: "../../block.c", line: 2511, func: "bdrv_node_refresh_perm" }, "QLIST_EMPTY(&bs->children)");
    return;
  }
  for (let i = node.children.length - 1; i >= 0; i--) {
    const c = node.children[i]!;
    const [perm, shared] = childPerms(node, c, P, S, writable);
    setChildPerm(c, perm, shared, tran);
    c.fresh = false;
    if (c.stale && node.slots) {
      const slots = node.slots;
      slots.markStale(c, false);
      tran.add({ abort: () => slots.markStale(c, true) });
    }
  }
}

/**
 * Refresh permissions starting from `starts` (in QEMU's start order). Throws the first QmpFailure
 * QEMU would report; the caller aborts the transaction.
 */
export function refreshPerms(host: DriverHost, starts: readonly BdsNode[], tran: Transaction, q?: ReopenFlags): void {
  const live = starts.filter((n) => !n.freed);
  const order = topologicalOrder(live, findDirty(live, q));
  for (const node of order) {
    parentPermsConflict(node);
    nodeRefreshPerm(host, node, q, tran);
  }
}
