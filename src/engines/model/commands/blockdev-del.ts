/** blockdev-del (`qmp_blockdev_del`), with QEMU's check order. */
import { acquireNodeContext } from "../aio-context/iothread-objects.js";
import { freeNode } from "../graph-ops.js";
import { checkOpNotBlocked } from "../op-blockers.js";
import { fail } from "../qmp-failure.js";
import type { CommandHandler } from "./handler.js";

export const blockdevDel: CommandHandler = (state, args) => {
  const name = String(args["node-name"]);
  const node = state.nodes.get(name) ?? fail(`Failed to find node with node-name='${name}'`);
  // bdrv_has_blk: an export's or a job's BlockBackend.
  if (node.parents.some((c) => c.parent.kind === "bb")) fail(`Node ${name} is in use`);
  acquireNodeContext(state, node);
  checkOpNotBlocked(node, "drive-del");
  if (!node.monitorOwned) fail(`Node ${name} is not owned by the monitor`);
  // bs->refcnt > 1: a parent's reference, or one held apart from the graph (an amend job's).
  if (node.parents.length > 0 || (node.heldRefs ?? 0) > 0) fail(`Block device ${name} is in use`);
  node.monitorOwned = false;
  freeNode(state, node);
  return {};
};
