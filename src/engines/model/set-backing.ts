/**
 * `bdrv_set_file_or_backing_noperm` and `bdrv_set_backing_hd` (block.c): give a node another
 * backing (or file) child, or none. A frozen link (a job relies on it) cannot change. The old
 * child's reference goes when the transaction commits, freeing it if no one else holds it; the
 * new child is attached at the head of the children list.
 */
import { matchContextsForAttach } from "./aio-context/attach-child-context.js";
import { withDrained } from "./drain.js";
import { type BdsNode, checkNoCycle, childNamed, fileChild, inheritsFromRecursive } from "./graph.js";
import { attachEdge, freeNode, removeEdge, unreferenced } from "./graph-ops.js";
import type { LayerState } from "./layer-state.js";
import { refreshPerms } from "./perm-refresh.js";
import { fail } from "./qmp-failure.js";
import { BDRV_CHILD_COW, BDRV_CHILD_FILTERED, BDRV_CHILD_PRIMARY } from "./roles.js";
import { refreshLimits } from "./refresh-limits.js";
import { runInTransaction, type Transaction } from "./transaction.js";

/**
 * `bdrv_set_file_or_backing_noperm`: permissions are the caller's business. Throws QmpFailure.
 * `unlockedCommit`: the transaction commits with no AioContext lock held (bdrv_reopen_multiple);
 * otherwise the caller holds the old child's.
 */
export function setFileOrBackingNoperm(state: LayerState, parentBs: BdsNode, childBs: BdsNode | null, isBacking: boolean, tran: Transaction, unlockedCommit = false): void {
  const updateInheritsFrom = childBs !== null && inheritsFromRecursive(childBs, parentBs);
  const key = isBacking ? "backing" : "file";
  const child = isBacking ? childNamed(parentBs, key) : fileChild(parentBs);
  const drv = parentBs.driver;
  if (child?.frozen) fail(`Cannot change frozen '${child.name}' link from '${parentBs.name}' to '${child.bs.name}'`);
  if (isBacking && !drv.isFilter && !drv.supportsBacking) {
    fail(`Driver '${drv.name}' of node '${parentBs.name}' does not support backing files`);
  }
  let role: number;
  if (drv.isFilter) role = BDRV_CHILD_FILTERED | BDRV_CHILD_PRIMARY;
  else if (isBacking) role = BDRV_CHILD_COW;
  // Only the existing child's role can be reused: there is no generic way to find a file's role.
  else if (child) role = child.role;
  else fail("Cannot set file child to format node without file child");
  if (child) {
    const oldBs = child.bs;
    unsetInheritsFrom(parentBs, oldBs, child, tran);
    removeEdge(child, tran);
    // The edge's reference goes at commit: a subtree nobody else holds is freed then.
    tran.add({
      commit: () => {
        if (!oldBs.freed && unreferenced(oldBs)) freeNode(state, oldBs, unlockedCommit ? null : undefined);
      },
    });
  }
  if (!childBs) return refreshLimits(parentBs, tran);
  checkNoCycle(parentBs, childBs, key);
  // bdrv_attach_child_common: parent and child must share an AioContext (the caller holds the parent's).
  matchContextsForAttach(state, { kind: "node", node: parentBs }, childBs, tran, state.aio.of(parentBs));
  attachEdge({ kind: "node", node: parentBs }, childBs, key, role, tran);
  // If inherits_from pointed (through other nodes) at the parent, it now points at it directly.
  if (updateInheritsFrom) setInheritsFrom(childBs, parentBs, tran);
  refreshLimits(parentBs, tran);
}

/** `bdrv_set_backing_hd`: the change and the permission refresh of `bs`, drained. Throws QmpFailure. */
export function setBackingHd(state: LayerState, bs: BdsNode, backingHd: BdsNode | null): void {
  withDrained(state, bs, () =>
    runInTransaction((tran) => {
      setFileOrBackingNoperm(state, bs, backingHd, true, tran);
      refreshPerms(state, [bs], tran);
    }),
  );
}

function setInheritsFrom(child: BdsNode, parent: BdsNode | null, tran: Transaction): void {
  const old = child.inheritsFrom;
  child.inheritsFrom = parent;
  tran.add({
    abort: () => {
      child.inheritsFrom = old;
    },
  });
}

/** `bdrv_unset_inherits_from`: only when no other edge from `root` reaches the child. */
function unsetInheritsFrom(root: BdsNode, childBs: BdsNode, edge: { bs: BdsNode }, tran: Transaction): void {
  if (childBs.inheritsFrom !== root) return;
  for (const c of root.children) if (c !== edge && c.bs === childBs) return;
  setInheritsFrom(childBs, null, tran);
}
