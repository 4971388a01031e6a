/**
 * A test-only permission refresh that does exactly what QEMU 7.2 does, without the model's dirty-set
 * shortcut: `bdrv_topological_dfs` from every start (recursive, children newest-first, each list
 * prepended to), then `bdrv_list_refresh_perms` over the whole list. The per-node step
 * (`bdrv_parent_perms_conflict`, `bdrv_node_refresh_perm`) is the model's own; what this checks is
 * which nodes the incremental refresh visits and in what order.
 */
import type { DriverHost } from "../../../src/engines/model/drivers/driver.js";
import type { BdsNode } from "../../../src/engines/model/graph.js";
import { nodeRefreshPerm, parentPermsConflict, type ReopenFlags } from "../../../src/engines/model/perm-refresh.js";
import type { Transaction } from "../../../src/engines/model/transaction.js";

/** `bdrv_topological_dfs`: `list` with `bs` and everything below it not yet `found` prepended, parents first. */
function topologicalDfs(list: BdsNode[], found: Set<BdsNode>, bs: BdsNode): BdsNode[] {
  if (found.has(bs)) return list;
  found.add(bs);
  // QLIST_FOREACH over bs->children: newest first (the model keeps them oldest first).
  for (let i = bs.children.length - 1; i >= 0; i--) list = topologicalDfs(list, found, bs.children[i]!.bs);
  return [bs, ...list];
}

/** The topological order QEMU refreshes in, for these starts (later starts' nodes first). */
export function referenceOrder(starts: readonly BdsNode[]): BdsNode[] {
  let list: BdsNode[] = [];
  const found = new Set<BdsNode>();
  for (const bs of starts) list = topologicalDfs(list, found, bs);
  return list;
}

/** `bdrv_list_refresh_perms` over the whole order; throws the first QmpFailure, as refreshPerms does. */
export function referenceRefreshPerms(host: DriverHost, starts: readonly BdsNode[], tran: Transaction, q?: ReopenFlags): void {
  for (const bs of referenceOrder(starts)) {
    parentPermsConflict(bs);
    nodeRefreshPerm(host, bs, q, tran);
  }
}
