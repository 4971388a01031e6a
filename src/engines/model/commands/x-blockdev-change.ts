/**
 * x-blockdev-change (`qmp_x_blockdev_change` → `bdrv_del_child` / `bdrv_add_child`): remove a
 * child of a node, or add a node as a new child, as the node's driver decides (quorum).
 */
import { matchContextsForAttach } from "../aio-context/attach-child-context.js";
import type { ChildChangeOps } from "../drivers/driver.js";
import { type BdsNode, checkNoCycle } from "../graph.js";
import { attachEdge, detachAndRelease } from "../graph-ops.js";
import type { LayerState } from "../layer-state.js";
import { refreshPerms } from "../perm-refresh.js";
import { fail } from "../qmp-failure.js";
import { runInTransaction } from "../transaction.js";
import type { CommandHandler } from "./handler.js";

export const xBlockdevChange: CommandHandler = (state, args) => {
  const parentName = String(args["parent"]);
  const parent = state.nodes.get(parentName) ?? fail(`Cannot find device='${parentName}' nor node-name='${parentName}'`);
  const hasChild = typeof args["child"] === "string";
  const hasNode = typeof args["node"] === "string";
  if (hasChild === hasNode) fail(hasChild ? "The parameters child and node are in conflict" : "Either child or node must be specified");
  const ops = childChangeOps(state, parent);
  if (hasChild) {
    // bdrv_find_child: any child by its name.
    const child = parent.children.find((c) => c.name === args["child"]) ?? fail(`Node '${parentName}' does not have child '${String(args["child"])}'`);
    if (!parent.driver.delChild) fail(`The node ${parent.name} does not support removing a child`);
    parent.driver.delChild(parent, child, ops);
  }
  if (hasNode) {
    const nodeName = String(args["node"]);
    const bs = state.nodes.get(nodeName) ?? fail(`Node '${nodeName}' not found`);
    if (!parent.driver.addChild) fail(`The node ${parent.name} does not support adding a child`);
    if (bs.parents.length > 0) fail(`The node ${bs.name} already has a parent`);
    parent.driver.addChild(parent, bs, ops);
  }
  return {};
};

function childChangeOps(state: LayerState, parent: BdsNode): ChildChangeOps {
  return {
    // bdrv_attach_child: the edge and the parent's permission refresh in one transaction.
    attach: (bs, name, role) =>
      runInTransaction((tran) => {
        checkNoCycle(parent, bs, name);
        matchContextsForAttach(state, { kind: "node", node: parent }, bs, tran, undefined);
        const c = attachEdge({ kind: "node", node: parent }, bs, name, role, tran);
        refreshPerms(state, [parent], tran);
        return c;
      }),
    // qmp_x_blockdev_change takes no AioContext lock: a child that leaves an iothread for the main
    // loop releases a lock nobody took.
    detach: (child) => detachAndRelease(state, child, null),
  };
}
