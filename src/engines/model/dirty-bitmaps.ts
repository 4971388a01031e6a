/**
 * Finding, checking and merging dirty bitmaps (block/dirty-bitmap.c), for the bitmap commands, NBD
 * exports and copy-before-write.
 */
import type { BdsNode } from "./graph.js";
import type { DirtyBitmap } from "./jobs/dirty-bitmap.js";
import type { LayerState } from "./layer-state.js";
import { fail } from "./qmp-failure.js";

/** `bdrv_find_dirty_bitmap`: named bitmaps only. */
export function findDirtyBitmap(bs: BdsNode, name: string): DirtyBitmap | undefined {
  return bs.dirtyBitmaps?.find((b) => b.name === name);
}

/** `block_dirty_bitmap_lookup`. */
export function lookupDirtyBitmap(state: LayerState, node: string, name: string): { bs: BdsNode; bitmap: DirtyBitmap } {
  const bs = state.nodes.get(node) ?? fail(`Node '${node}' not found`);
  const bitmap = findDirtyBitmap(bs, name) ?? fail(`Dirty bitmap '${name}' not found`);
  return { bs, bitmap };
}

/** `bdrv_dirty_bitmap_check` with BDRV_BITMAP_ALLOW_RO (BDRV_BITMAP_DEFAULT adds read-only, which no bitmap of the model is). */
export function checkDirtyBitmap(bitmap: DirtyBitmap): void {
  if (bitmap.busy) fail(`Bitmap '${bitmap.name ?? "(null)"}' is currently in use by another operation and cannot be used`);
}

/**
 * `bdrv_merge_dirty_bitmap(dest, src)`: both usable, the same size. What `block_dirty_bitmap_merge`
 * and copy-before-write's start from a user's bitmap do.
 */
export function mergeDirtyBitmap(dest: DirtyBitmap, src: DirtyBitmap): void {
  checkDirtyBitmap(dest);
  checkDirtyBitmap(src);
  if (src.size !== dest.size) {
    fail(`Bitmaps are of different sizes (destination size is ${dest.size}, source size is ${src.size}) and can't be merged`);
  }
  dest.mergeFrom(src);
}
