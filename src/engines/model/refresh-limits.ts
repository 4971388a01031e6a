/**
 * `bdrv_refresh_limits` (block/io.c) for the drivers that read their limits from their children:
 * QEMU keeps `bs->bl` from one refresh to the next, and refreshes at the open (bdrv_open_driver), at
 * a reopen's commit, when a node gets another file or backing child (bdrv_set_file_or_backing_noperm,
 * undone with its transaction) and for bdrv_append's old top. A child replaced under a node (a job's
 * completion, blockdev-snapshot's parents) leaves its limits as they were.
 */
import type { BdsNode } from "./graph.js";
import type { Transaction } from "./transaction.js";

export function refreshLimits(node: BdsNode, tran?: Transaction): void {
  const undo = node.driver.refreshLimits?.(node);
  if (undo && tran) tran.add({ abort: undo });
}
