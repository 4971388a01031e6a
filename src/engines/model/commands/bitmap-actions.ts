/**
 * The dirty bitmap actions of `transaction` (blockdev.c, `block_dirty_bitmap_*_prepare` and their
 * commit and abort). Each changes the bitmap at prepare and keeps what abort needs to put it back:
 * an added bitmap is removed, a removed one is only made busy until commit releases it, a cleared or
 * merged one keeps its old bits until commit drops them.
 */
import { BITMAP_ALLOW_RO, BITMAP_DEFAULT, checkDirtyBitmap, findDirtyBitmap, lookupDirtyBitmap, mergeDirtyBitmap } from "../dirty-bitmaps.js";
import type { BdsNode } from "../graph.js";
import type { BitmapBits, DirtyBitmap } from "../jobs/dirty-bitmap.js";
import type { LayerState } from "../layer-state.js";
import { QemuAbort } from "../qemu-would-crash.js";
import { fail } from "../qmp-failure.js";
import { blockDirtyBitmapAdd, blockDirtyBitmapRemove, removeDirtyBitmap } from "./dirty-bitmaps.js";
import { type BlkAction, checkCompletionMode, type CompletionMode } from "./transaction-actions.js";

type Args = Record<string, unknown>;

/** A NULL bitmap or backup that an abort or commit reads through. */
function nullDereference(): never {
  throw new QemuAbort("SIGSEGV", "");
}

export function bitmapAdd(state: LayerState, args: Args, mode: CompletionMode): BlkAction {
  let prepared = false;
  return {
    prepare() {
      checkCompletionMode("block-dirty-bitmap-add", mode);
      blockDirtyBitmapAdd(state, args);
      prepared = true;
    },
    abort() {
      // With &error_abort: a bitmap this action added can always be removed again.
      if (prepared) blockDirtyBitmapRemove(state, { node: args["node"], name: args["name"] });
    },
  };
}

export function bitmapRemove(state: LayerState, args: Args, mode: CompletionMode): BlkAction {
  let found: { bs: BdsNode; bitmap: DirtyBitmap } | undefined;
  return {
    prepare() {
      checkCompletionMode("block-dirty-bitmap-remove", mode);
      // block_dirty_bitmap_remove without release: out of the image already, the bitmap stays,
      // busy and not to be stored again, until commit.
      const hit = removeDirtyBitmap(state, String(args["node"]), String(args["name"]), false);
      hit.bitmap.skipStore = true;
      hit.bitmap.busy = true;
      found = hit;
    },
    commit() {
      const { bs, bitmap } = found!;
      bitmap.busy = false;
      bs.dirtyBitmaps!.splice(bs.dirtyBitmaps!.indexOf(bitmap), 1);
    },
    abort() {
      if (!found) return;
      found.bitmap.skipStore = false;
      found.bitmap.busy = false;
    },
  };
}

export function bitmapClear(state: LayerState, args: Args, mode: CompletionMode): BlkAction {
  let bitmap: DirtyBitmap | undefined;
  let backup: BitmapBits | undefined;
  return {
    prepare() {
      checkCompletionMode("block-dirty-bitmap-clear", mode);
      bitmap = lookupDirtyBitmap(state, String(args["node"]), String(args["name"])).bitmap;
      checkDirtyBitmap(bitmap, BITMAP_DEFAULT);
      backup = bitmap.snapshot();
      bitmap.clear();
    },
    abort() {
      if (backup) bitmap!.restore(backup);
    },
  };
}

/** block-dirty-bitmap-enable (`enable`) and -disable: abort sets back what the bitmap was. */
export function bitmapSetEnabled(state: LayerState, args: Args, mode: CompletionMode, enable: boolean): BlkAction {
  let bitmap: DirtyBitmap | undefined;
  let wasEnabled = false;
  return {
    prepare() {
      checkCompletionMode(enable ? "block-dirty-bitmap-enable" : "block-dirty-bitmap-disable", mode);
      bitmap = lookupDirtyBitmap(state, String(args["node"]), String(args["name"])).bitmap;
      checkDirtyBitmap(bitmap, BITMAP_ALLOW_RO);
      wasEnabled = bitmap.recording;
      bitmap.recording = enable;
    },
    abort() {
      // Only what was_enabled says is checked: an enable that failed before it found its bitmap
      // disables NULL, and one refused a busy bitmap disables that bitmap.
      if (wasEnabled === enable) return;
      if (!bitmap) nullDereference();
      bitmap.recording = wasEnabled;
    },
  };
}

/**
 * `block_dirty_bitmap_merge` with a backup: taken by the first source merged, the target's old bits
 * come back at abort; a merge of no source has none, and commit frees that NULL backup.
 */
export function bitmapMerge(state: LayerState, args: Args, mode: CompletionMode): BlkAction {
  let dest: DirtyBitmap | undefined;
  let backup: BitmapBits | undefined;
  return {
    prepare() {
      checkCompletionMode("block-dirty-bitmap-merge", mode);
      const target = lookupDirtyBitmap(state, String(args["node"]), String(args["target"]));
      let local: BitmapBits | undefined;
      try {
        for (const source of args["bitmaps"] as unknown[]) {
          let src: DirtyBitmap;
          if (typeof source === "string") src = findDirtyBitmap(target.bs, source) ?? fail(`Dirty bitmap '${source}' not found`);
          else {
            const ref = source as { node: string; name: string };
            src = lookupDirtyBitmap(state, ref.node, ref.name).bitmap;
          }
          const before = local ? undefined : target.bitmap.snapshot();
          mergeDirtyBitmap(target.bitmap, src);
          local ??= before;
        }
      } catch (e) {
        if (local) target.bitmap.restore(local);
        throw e;
      }
      dest = target.bitmap;
      backup = local;
    },
    commit() {
      if (!backup) nullDereference();
    },
    abort() {
      if (backup) dest!.restore(backup);
    },
  };
}
