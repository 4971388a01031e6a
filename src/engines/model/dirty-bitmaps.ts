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

/** BDRV_BITMAP_BUSY, BDRV_BITMAP_RO and BDRV_BITMAP_INCONSISTENT: what `bdrv_dirty_bitmap_check` refuses. */
export const BITMAP_BUSY = 1;
export const BITMAP_RO = 2;
export const BITMAP_INCONSISTENT = 4;
/** BDRV_BITMAP_DEFAULT: a bitmap the caller will change. */
export const BITMAP_DEFAULT = BITMAP_BUSY | BITMAP_RO | BITMAP_INCONSISTENT;
/** BDRV_BITMAP_ALLOW_RO: a bitmap the caller only reads (or only enables or disables). */
export const BITMAP_ALLOW_RO = BITMAP_BUSY | BITMAP_INCONSISTENT;

/** `bdrv_dirty_bitmap_check`: each caller passes the flags QEMU's does. */
export function checkDirtyBitmap(bitmap: DirtyBitmap, flags: number): void {
  const name = bitmap.name ?? "(null)";
  if (flags & BITMAP_BUSY && bitmap.busy) fail(`Bitmap '${name}' is currently in use by another operation and cannot be used`);
  if (flags & BITMAP_RO && bitmap.readonly) fail(`Bitmap '${name}' is readonly and cannot be modified`);
  if (flags & BITMAP_INCONSISTENT && bitmap.inconsistent) fail(`Bitmap '${name}' is inconsistent and cannot be used`);
}

/**
 * `bdrv_merge_dirty_bitmap(dest, src)`: both usable, the same size. What `block_dirty_bitmap_merge`
 * and copy-before-write's start from a user's bitmap do.
 */
export function mergeDirtyBitmap(dest: DirtyBitmap, src: DirtyBitmap): void {
  checkDirtyBitmap(dest, BITMAP_DEFAULT);
  checkDirtyBitmap(src, BITMAP_ALLOW_RO);
  if (src.size !== dest.size) {
    fail(`Bitmaps are of different sizes (destination size is ${dest.size}, source size is ${src.size}) and can't be merged`);
  }
  dest.mergeFrom(src);
}
