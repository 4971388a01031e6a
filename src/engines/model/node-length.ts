/**
 * `bdrv_getlength`: a driver with `has_variable_length` computes its length again on every call
 * (from its child's length, or its window of it); every other driver answers with the size it had
 * when it was opened, even after a reopen gave it another child (throttle, blkdebug).
 */
import type { BdsNode } from "./graph.js";

export function nodeLength(node: BdsNode): number {
  return node.driver.getLength ? node.driver.getLength(node, nodeLength) : node.size;
}
