/** `bdrv_insert_node` (block.c): a new node opened over `bs`, which then takes every parent of `bs`. */
import type { DriverDef } from "./drivers/driver.js";
import { withDrained } from "./drain.js";
import type { BdsNode } from "./graph.js";
import { bdrvRef, bdrvUnref } from "./graph-ops.js";
import { replaceNode } from "./graph-replace.js";
import type { LayerState } from "./layer-state.js";
import { NodeOpener } from "./open-node.js";
import { fail, QmpFailure } from "./qmp-failure.js";
import { runInTransaction } from "./transaction.js";

/**
 * Open the node (`options` name it when `nodeName` is given; named first, then opened, read-write; errors prefixed "Could not create node: "),
 * in the context of `bs`, whose lock the callers hold; then move every parent of `bs` to it, in a
 * drained section ("Could not replace node: "). The caller holds the new node until it drops it.
 */
export function bdrvInsertNode(state: LayerState, bs: BdsNode, driver: DriverDef, options: Record<string, unknown>, nodeName: string | null): BdsNode {
  let node: BdsNode;
  try {
    node = runInTransaction((tran) => new NodeOpener(state, tran, state.aio.of(bs)).openDriver({ driver, nodeName, options, readOnly: false }));
  } catch (e) {
    if (e instanceof QmpFailure) fail(`Could not create node: ${e.body.desc}`);
    throw e;
  }
  bdrvRef(node);
  try {
    withDrained(state, bs, () => replaceNode(state, bs, node));
  } catch (e) {
    bdrvUnref(state, node);
    if (e instanceof QmpFailure) fail(`Could not replace node: ${e.body.desc}`);
    throw e;
  }
  return node;
}
