/**
 * A backup job's hold on the user's bitmap (block/dirty-bitmap.c): while the job runs, the bitmap
 * is busy and frozen and an anonymous successor records the writes; at the end the successor
 * either takes the bitmap's place and name (`abdicate`) or is merged back into it (`reclaim`).
 */
import { BITMAP_BUSY, checkDirtyBitmap } from "../dirty-bitmaps.js";
import type { BdsNode } from "../graph.js";
import { nodeLength } from "../node-length.js";
import { fail } from "../qmp-failure.js";
import { DirtyBitmap } from "./dirty-bitmap.js";

function release(bs: BdsNode, bitmap: DirtyBitmap): void {
  const i = bs.dirtyBitmaps?.indexOf(bitmap) ?? -1;
  if (i >= 0) bs.dirtyBitmaps!.splice(i, 1);
}

/** `bdrv_dirty_bitmap_create_successor`: the successor records as the bitmap did, and the bitmap stops. */
export function createSuccessor(bs: BdsNode, bitmap: DirtyBitmap): void {
  checkDirtyBitmap(bitmap, BITMAP_BUSY);
  if (bitmap.successor) fail("Cannot create a successor for a bitmap that already has one");
  // bdrv_create_dirty_bitmap: at the head of the node's list (the model keeps them oldest first).
  const child = new DirtyBitmap(bitmap.granularity, nodeLength(bs), bitmap.recording);
  (bs.dirtyBitmaps ??= []).push(child);
  bitmap.recording = false;
  bitmap.successor = child;
  bitmap.busy = true;
}

/** `bdrv_dirty_bitmap_abdicate`: the successor takes the bitmap's name, and the bitmap goes. */
export function abdicate(bs: BdsNode, bitmap: DirtyBitmap): DirtyBitmap {
  const successor = bitmap.successor!;
  successor.name = bitmap.name;
  bitmap.name = undefined;
  bitmap.successor = undefined;
  // The successor is stored in the image in the bitmap's place.
  successor.persistent = bitmap.persistent;
  bitmap.persistent = false;
  bitmap.busy = false;
  release(bs, bitmap);
  return successor;
}

/** `bdrv_reclaim_dirty_bitmap`: what the successor recorded is merged back, and it goes. */
export function reclaim(bs: BdsNode, bitmap: DirtyBitmap): DirtyBitmap {
  const successor = bitmap.successor!;
  bitmap.mergeFrom(successor);
  bitmap.recording = successor.recording;
  bitmap.busy = false;
  release(bs, successor);
  bitmap.successor = undefined;
  return bitmap;
}
