/**
 * blockdev-snapshot (blockdev.c: a transaction of one `external_snapshot` action): an existing node
 * without a backing file, which nobody reads yet, becomes the overlay of `node`. Prepare drains the
 * node, checks both, and appends the overlay (`bdrv_append`: it takes the node as its backing file
 * and the node's parents); commit reopens the node read-only, whatever that answers; clean ends the
 * drained section.
 */
import { bdrvFlush } from "../data/block-io.js";
import type { BdsNode } from "../graph.js";
import { bdrvDrainedBegin, bdrvDrainedEnd } from "../drain.js";
import { cowChild } from "../chain.js";
import { bdrvAppend } from "../graph-replace.js";
import { checkOpNotBlocked } from "../op-blockers.js";
import { cumulativePerms } from "../perm-refresh.js";
import { BLK_PERM_CONSISTENT_READ } from "../perms.js";
import { fail } from "../qmp-failure.js";
import { reopenSetReadOnlyQuietly } from "../reopen/set-read-only.js";
import type { CommandHandler } from "./handler.js";

export const blockdevSnapshot: CommandHandler = (state, args) => {
  const node = String(args["node"]);
  const overlay = String(args["overlay"]);
  // bdrv_lookup_bs(node, node): the node name is tried as a device first.
  const oldBs = state.nodes.get(node) ?? fail(`Cannot find device='${node}' nor node-name='${node}'`);
  const drained = bdrvDrainedBegin(state, oldBs);
  try {
    checkOpNotBlocked(oldBs, "external-snapshot");
    // What the node wrote reaches the disk before the overlay takes writes.
    bdrvFlush(state, oldBs);
    // bdrv_open(NULL, overlay): a reference is looked up the same way.
    const newBs = state.nodes.get(overlay) ?? fail(`Cannot find device='${overlay}' nor node-name='${overlay}'`);
    checkOverlay(newBs);
    // external_snapshot_prepare holds the node's context.
    bdrvAppend(state, newBs, oldBs, state.aio.of(oldBs));
    // external_snapshot_commit: the node under the overlay is not written any more.
    reopenSetReadOnlyQuietly(state, oldBs, true);
  } finally {
    if (drained) bdrvDrainedEnd(oldBs);
  }
  return {};
};

/** What external_snapshot_prepare asks of the overlay before it appends it. */
function checkOverlay(bs: BdsNode): void {
  // A parent that only writes (a mirror target) may stay; one that reads would see the image change.
  if (cumulativePerms(bs)[0] & BLK_PERM_CONSISTENT_READ) fail("The overlay is already in use");
  if (bs.driver.isFilter) fail("Filters cannot be used as overlays");
  if (cowChild(bs)) fail("The overlay already has a backing image");
  if (!bs.driver.supportsBacking) fail("The overlay does not support backing images");
}
