/** blockdev-del (`qmp_blockdev_del`), with QEMU's check order. */
import { freeNode } from "../graph-ops.js";
import { BDRV_CHILD_COW } from "../roles.js";
import { fail } from "../qmp-failure.js";
import type { CommandHandler } from "./handler.js";

export const blockdevDel: CommandHandler = (state, args) => {
  const name = String(args["node-name"]);
  const node = state.nodes.get(name) ?? fail(`Failed to find node with node-name='${name}'`);
  if (node.parents.some((c) => c.parent.kind === "bb")) fail(`Node ${name} is in use`);
  // The op blocker set when a node becomes a backing file; the newest one is reported.
  for (let i = node.parents.length - 1; i >= 0; i--) {
    const c = node.parents[i]!;
    if (c.role & BDRV_CHILD_COW && c.parent.kind === "node") {
      fail(`Node '${name}' is busy: node is used as backing hd of '${c.parent.node.name}'`);
    }
  }
  if (!node.monitorOwned) fail(`Node ${name} is not owned by the monitor`);
  if (node.parents.length > 0) fail(`Block device ${name} is in use`);
  node.monitorOwned = false;
  freeNode(state, node);
  return {};
};
