/**
 * `bdrv_getlength`: a driver with `has_variable_length` computes its length again on every call
 * (from its child's length, or its window of it); every other driver answers with the size it had
 * when it was opened, even after a reopen gave it another child (throttle, blkdebug).
 */
import type { BdsNode } from "./graph.js";

export function nodeLength(node: BdsNode): number {
  if (!node.driver.getLength) return node.size;
  // bdrv_refresh_total_sectors keeps the driver's length in whole sectors, rounded up: a raw window
  // that ends inside a sector is one sector longer to the block layer.
  return Math.ceil(node.driver.getLength(node, nodeLength) / 512) * 512;
}
