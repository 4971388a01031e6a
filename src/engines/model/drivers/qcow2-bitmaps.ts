/**
 * qcow2's persistent dirty bitmaps as the node uses them (block/qcow2-bitmap.c): loaded when the
 * node opens and marked in use in the image, stored when it closes or goes read-only, made
 * writable again when it comes back, taken out of the image by block-dirty-bitmap-remove, and the
 * checks that come before a new one and before a resize. The directory itself is
 * data/qcow2/qcow2-bitmap-directory.ts.
 */
import {
  type BitmapContext,
  bitmapConstraintProblem,
  BME_FLAG_AUTO,
  BME_FLAG_IN_USE,
  dirEntrySize,
  freeBitmapClusters,
  loadBitmapData,
  loadBitmapList,
  loadBitmapTable,
  type Qcow2Bitmap,
  QCOW2_MAX_BITMAP_DIRECTORY_SIZE,
  QCOW2_MAX_BITMAPS,
  storeBitmap,
  updateDirectory,
  updateDirectoryInPlace,
  worded,
} from "../data/qcow2/qcow2-bitmap-directory.js";
import { Errno, IoError } from "../data/io-error.js";
import { BITMAP_DEFAULT, checkDirtyBitmap, findDirtyBitmap } from "../dirty-bitmaps.js";
import type { BdsNode } from "../graph.js";
import { DirtyBitmap } from "../jobs/dirty-bitmap.js";
import { fail, failErrno, QmpFailure } from "../qmp-failure.js";
import { nodeLength } from "../node-length.js";

/** The node's bitmaps as QEMU's FOR_EACH_DIRTY_BITMAP walks them: newest first. */
function eachBitmap(node: BdsNode): DirtyBitmap[] {
  return [...(node.dirtyBitmaps ?? [])].reverse();
}

/** `bdrv_release_dirty_bitmap`. */
function release(node: BdsNode, bitmap: DirtyBitmap): void {
  const i = node.dirtyBitmaps?.indexOf(bitmap) ?? -1;
  if (i >= 0) node.dirtyBitmaps!.splice(i, 1);
}

/** `load_bitmap`: a new bitmap on the node, with the image's bits unless the image has it in use. */
function loadBitmap(ctx: BitmapContext, node: BdsNode, bm: Qcow2Bitmap): DirtyBitmap {
  // bdrv_create_dirty_bitmap.
  if (findDirtyBitmap(node, bm.name)) fail(`Bitmap already exists: ${bm.name}`);
  const bitmap = new DirtyBitmap(2 ** bm.granularityBits, nodeLength(node), true, bm.name);
  (node.dirtyBitmaps ??= []).push(bitmap);
  if (bm.flags & BME_FLAG_IN_USE) return bitmap;
  try {
    const entries = worded(`Could not read bitmap_table table from image for bitmap '${bm.name}'`, () => loadBitmapTable(ctx, bm.table));
    worded(`Could not read bitmap '${bm.name}' from image`, () => loadBitmapData(ctx, entries, bm.table.size, bitmap));
  } catch (e) {
    release(node, bitmap);
    throw e;
  }
  return bitmap;
}

/**
 * `qcow2_load_dirty_bitmaps`: every bitmap of the image not already on the node, marked in use in
 * the image when the node can write it (the directory rewritten in place), read-only otherwise.
 * Returns whether the header was written.
 */
export function loadDirtyBitmaps(ctx: BitmapContext, node: BdsNode, canWrite: boolean): boolean {
  if (ctx.img.bitmapDirectory.count === 0) return false;
  const list = loadBitmapList(ctx);
  const created: DirtyBitmap[] = [];
  let needsUpdate = false;
  try {
    for (const bm of list) {
      if (bm.flags & BME_FLAG_IN_USE && findDirtyBitmap(node, bm.name)) continue;
      const bitmap = loadBitmap(ctx, node, bm);
      created.push(bitmap);
      bitmap.persistent = true;
      if (bm.flags & BME_FLAG_IN_USE) {
        // bdrv_dirty_bitmap_set_inconsistent disables it too.
        bitmap.inconsistent = true;
        bitmap.recording = false;
      } else {
        bm.flags |= BME_FLAG_IN_USE;
        needsUpdate = true;
      }
      if (!(bm.flags & BME_FLAG_AUTO)) bitmap.recording = false;
    }
    if (needsUpdate && canWrite) worded("Can't update bitmap directory", () => updateDirectoryInPlace(ctx, list));
  } catch (e) {
    for (const bitmap of created) release(node, bitmap);
    throw e;
  }
  if (!canWrite) for (const bitmap of created) bitmap.readonly = true;
  return needsUpdate && canWrite;
}

/**
 * `qcow2_store_persistent_dirty_bitmaps`: each persistent bitmap the node can write goes into the
 * image as a new table (a bitmap the image already has must be the one it has in use, whose old
 * table goes once the directory points at the new one). `release` drops the stored bitmaps from the
 * node (a close). Throws the `errp` message.
 */
export function storeDirtyBitmaps(ctx: BitmapContext, node: BdsNode, releaseStored: boolean, canWrite: boolean): void {
  const { img } = ctx;
  let newCount = img.bitmapDirectory.count;
  let newDirSize = img.bitmapDirectory.size;
  const list = newCount === 0 ? [] : loadBitmapList(ctx);
  const dropTables: Array<{ offset: number; size: number }> = [];
  let needWrite = false;
  try {
    for (const bitmap of eachBitmap(node)) {
      const name = bitmap.name!;
      if (!bitmap.storable || bitmap.inconsistent) continue;
      if (bitmap.readonly) {
        const bm = list.find((b) => b.name === name);
        if (bm) bm.dirty = bitmap;
        continue;
      }
      needWrite = true;
      const problem = bitmapConstraintProblem(ctx, name, bitmap.granularity);
      if (problem !== undefined) fail(`Bitmap '${name}' doesn't satisfy the constraints: ${problem}`);
      let bm = list.find((b) => b.name === name);
      if (!bm) {
        if (++newCount > QCOW2_MAX_BITMAPS) fail("Too many persistent bitmaps");
        newDirSize += dirEntrySize(name);
        if (newDirSize > QCOW2_MAX_BITMAP_DIRECTORY_SIZE) fail("Bitmap directory is too large");
        bm = { name, table: { offset: 0, size: 0 }, flags: 0, granularityBits: 0 };
        list.push(bm);
      } else {
        if (!(bm.flags & BME_FLAG_IN_USE)) fail(`Bitmap '${name}' already exists in the image`);
        dropTables.push({ ...bm.table });
        bm.table = { offset: 0, size: 0 };
      }
      bm.flags = bitmap.recording ? BME_FLAG_AUTO : 0;
      bm.granularityBits = Math.log2(bitmap.granularity);
      bm.dirty = bitmap;
    }
    if (needWrite) {
      if (!canWrite) fail("No write access");
      for (const bm of list) if (bm.dirty && !bm.dirty.readonly) storeBitmap(ctx, bm);
      worded("Failed to update bitmap extension", () => updateDirectory(ctx, list));
      // The old tables go only once the directory no longer points at them.
      for (const table of dropTables) freeQuietly(ctx, table);
    }
  } catch (e) {
    for (const bm of list) if (bm.dirty && bm.table.offset !== 0 && !bm.dirty.readonly) freeQuietly(ctx, bm.table);
    throw e;
  }
  if (releaseStored) for (const bm of list) if (bm.dirty) release(node, bm.dirty);
}

/** `free_bitmap_clusters` whose result is ignored. */
function freeQuietly(ctx: BitmapContext, table: { offset: number; size: number }): void {
  try {
    freeBitmapClusters(ctx, table);
  } catch (e) {
    if (!(e instanceof IoError)) throw e;
  }
}

/** `qcow2_reopen_bitmaps_ro`: stored (and kept), then every persistent bitmap is read-only. */
export function reopenBitmapsReadOnly(ctx: BitmapContext, node: BdsNode): void {
  // can_write() looks at the node as it is before the reopen.
  storeDirtyBitmaps(ctx, node, false, !node.readOnly);
  for (const bitmap of node.dirtyBitmaps ?? []) if (bitmap.storable) bitmap.readonly = true;
}

/**
 * `qcow2_reopen_bitmaps_rw`: the image's bitmaps are in use again (the directory rewritten in
 * place), and the node's read-only ones writable. QEMU only reports a failure on its log.
 */
export function reopenBitmapsReadWrite(ctx: BitmapContext, node: BdsNode, fileWritable: boolean): void {
  if (ctx.img.bitmapDirectory.count === 0) return;
  try {
    const list = loadBitmapList(ctx);
    const readonly: DirtyBitmap[] = [];
    let needUpdate = false;
    for (const bm of list) {
      const bitmap = findDirtyBitmap(node, bm.name);
      if (!bitmap) return;
      if (!(bm.flags & BME_FLAG_IN_USE)) {
        if (!bitmap.readonly || bitmap.inconsistent) return;
        bm.flags |= BME_FLAG_IN_USE;
        needUpdate = true;
      } else if (bitmap.readonly && !bitmap.inconsistent) {
        return;
      }
      if (bitmap.readonly) readonly.push(bitmap);
    }
    if (needUpdate) {
      if (!fileWritable) return;
      updateDirectoryInPlace(ctx, list);
    }
    for (const bitmap of readonly) bitmap.readonly = false;
  } catch (e) {
    if (!(e instanceof IoError || e instanceof QmpFailure)) throw e;
  }
}

/**
 * `qcow2_co_remove_persistent_dirty_bitmap`: the bitmap leaves the directory (a new one), then its
 * clusters go. A bitmap the image does not have is no error.
 */
export function removePersistentBitmap(ctx: BitmapContext, name: string): void {
  if (ctx.img.bitmapDirectory.count === 0) return;
  const list = loadBitmapList(ctx);
  const bm = list.find((b) => b.name === name);
  if (!bm) return;
  list.splice(list.indexOf(bm), 1);
  worded("Failed to update bitmap extension", () => updateDirectory(ctx, list));
  freeQuietly(ctx, bm.table);
}

/**
 * `qcow2_co_can_store_new_dirty_bitmap`: no bitmap of that name on the node, a version 3 image,
 * the constraints, and room in the directory for every persistent bitmap and this one.
 */
export function canStoreNewBitmap(ctx: BitmapContext, node: BdsNode, name: string, granularity: number): void {
  if (findDirtyBitmap(node, name)) fail(`Bitmap already exists: ${name}`);
  const refuse = (why: string): never => fail(`Can't make bitmap '${name}' persistent in '${node.name}': ${why}`);
  if (ctx.img.version < 3) refuse("Cannot store dirty bitmaps in qcow2 v2 files");
  const problem = bitmapConstraintProblem(ctx, name, granularity);
  if (problem !== undefined) refuse(problem);
  let count = 1;
  let dirSize = dirEntrySize(name);
  for (const bitmap of eachBitmap(node)) {
    if (!bitmap.storable) continue;
    count++;
    dirSize += dirEntrySize(bitmap.name!);
  }
  if (count > QCOW2_MAX_BITMAPS) refuse("Maximum number of persistent bitmaps is already reached");
  if (dirSize > QCOW2_MAX_BITMAP_DIRECTORY_SIZE) refuse("Not enough space in the bitmap directory");
}

/** `qcow2_truncate_bitmaps_check`: every bitmap of the image is on the node, and may change. */
export function truncateBitmapsCheck(ctx: BitmapContext, node: BdsNode): void {
  if (ctx.img.bitmapDirectory.count === 0) return;
  const refuse = (e: unknown): never => {
    if (e instanceof QmpFailure) failErrno(e.message, Errno.ENOTSUP);
    throw e;
  };
  let list: Qcow2Bitmap[];
  try {
    list = loadBitmapList(ctx);
  } catch (e) {
    return refuse(e);
  }
  for (const bm of list) {
    const bitmap = findDirtyBitmap(node, bm.name);
    if (!bitmap) failErrno("Cannot resize qcow2 with persistent bitmaps that were not loaded into memory", Errno.ENOTSUP);
    try {
      checkDirtyBitmap(bitmap, BITMAP_DEFAULT);
    } catch (e) {
      refuse(e);
    }
  }
}

/** `qcow2_get_bitmap_info_list` of an image with bitmaps: each as the directory has it. */
export function bitmapInfoList(ctx: BitmapContext): unknown[] {
  return loadBitmapList(ctx).map((bm) => {
    const flags: string[] = [];
    if (bm.flags & BME_FLAG_IN_USE) flags.push("in-use");
    if (bm.flags & BME_FLAG_AUTO) flags.push("auto");
    return { name: bm.name, granularity: 2 ** bm.granularityBits, flags };
  });
}
