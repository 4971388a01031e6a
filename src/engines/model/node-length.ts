/**
 * `bdrv_getlength`: a driver with `has_variable_length` computes its length again on every call
 * (from its child's length, or its window of it), and refresh_total_sectors keeps what it said in
 * bs->total_sectors; every other driver answers with the size it had when it was opened, even after
 * a reopen gave it another child (throttle, blkdebug).
 */
import type { BdsNode } from "./graph.js";

export function nodeLength(node: BdsNode): number {
  if (!node.driver.getLength) return node.size;
  // bdrv_refresh_total_sectors keeps the driver's length in whole sectors, rounded up: a raw window
  // that ends inside a sector is one sector longer to the block layer.
  const length = Math.ceil(node.driver.getLength(node, nodeLength) / 512) * 512;
  if (node.lengthCache !== undefined && node.lengthCache !== length) node.slots?.markResized(node, true);
  node.lengthCache = length;
  return length;
}

/**
 * `bs->total_sectors * BDRV_SECTOR_SIZE` read directly, as copy-before-write's and the job filters'
 * opens and the permission check do: a variable-length node's length as last refreshed, which a
 * reopen that gave it another child does not refresh.
 */
export function totalSectorsLength(node: BdsNode): number {
  if (!node.driver.getLength) return Math.ceil(node.size / 512) * 512;
  return node.lengthCache ?? nodeLength(node);
}
