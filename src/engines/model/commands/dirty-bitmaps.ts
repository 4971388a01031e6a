/**
 * The `block-dirty-bitmap-*` commands (block/monitor/bitmap-qmp-cmds.c, block/dirty-bitmap.c):
 * named bitmaps a user puts on a node, which every write and discard to the node then marks
 * (data/block-io.ts), an NBD export can publish (exports.ts) and copy-before-write can start from.
 * A persistent bitmap is stored in its node's image by the driver (drivers/qcow2-bitmaps.ts).
 */
import { acquireNodeContext } from "../aio-context/iothread-objects.js";
import { waitForNodeCoroutine } from "../aio-context/main-thread-wait.js";
import { BITMAP_ALLOW_RO, BITMAP_BUSY, BITMAP_DEFAULT, BITMAP_RO, checkDirtyBitmap, findDirtyBitmap, lookupDirtyBitmap, mergeDirtyBitmap } from "../dirty-bitmaps.js";
import type { BdsNode } from "../graph.js";
import type { LayerState } from "../layer-state.js";
import { DirtyBitmap } from "../jobs/dirty-bitmap.js";
import { nodeLength } from "../node-length.js";
import { bdrvGetInfo } from "../query/named-nodes.js";
import { QemuAbort } from "../qemu-would-crash.js";
import { fail } from "../qmp-failure.js";
import type { CommandHandler } from "./handler.js";

/** BDRV_BITMAP_MAX_NAME_SIZE. */
const MAX_NAME = 1023;

/** `bdrv_get_default_bitmap_granularity`: the cluster size, kept within 4 KiB and 64 KiB. */
function defaultGranularity(bs: BdsNode): number {
  const clusterSize = bdrvGetInfo(bs)?.clusterSize ?? 0;
  // bdrv_get_info fails (-EINVAL) past BDRV_MAX_ALIGNMENT.
  if (clusterSize <= 0 || clusterSize > 2 ** 30) return 65536;
  return Math.min(65536, Math.max(4096, clusterSize));
}

/**
 * `bdrv_can_store_new_dirty_bitmap`, a coroutine wrapper whatever the driver (the caller holds the
 * node's context): a driver that cannot store bitmaps refuses, qcow2 makes its own checks
 * (`qcow2_co_can_store_new_dirty_bitmap`).
 */
function checkCanStore(state: LayerState, bs: BdsNode, name: string, granularity: number): void {
  waitForNodeCoroutine(state, bs, state.aio.of(bs), "bdrv_can_store_new_dirty_bitmap");
  const canStore = bs.driver.canStoreNewDirtyBitmap;
  if (!canStore) fail(`Can't store persistent bitmaps to ${bs.name}: Operation not supported`);
  canStore(bs, name, granularity);
}

export const blockDirtyBitmapAdd: CommandHandler = (state, args) => {
  const name = String(args["name"]);
  if (name === "") fail("Bitmap name cannot be empty");
  const node = String(args["node"]);
  const bs = state.nodes.get(node) ?? fail(`Cannot find device='${node}' nor node-name='${node}'`);
  acquireNodeContext(state, bs);
  let granularity: number;
  if (args["granularity"] !== undefined) {
    granularity = Number(args["granularity"]);
    if (granularity < 512 || (granularity & (granularity - 1)) !== 0) fail("Granularity must be power of 2 and at least 512");
  } else {
    granularity = defaultGranularity(bs);
  }
  const persistent = args["persistent"] === true;
  if (persistent) checkCanStore(state, bs, name, granularity);
  // bdrv_create_dirty_bitmap: at the head of bs->dirty_bitmaps (the model keeps them oldest first).
  if (findDirtyBitmap(bs, name)) fail(`Bitmap already exists: ${name}`);
  if (Buffer.byteLength(name) > MAX_NAME) fail(`Bitmap name too long: ${name}`);
  const bitmap = new DirtyBitmap(granularity, nodeLength(bs), args["disabled"] !== true, name);
  bitmap.persistent = persistent;
  (bs.dirtyBitmaps ??= []).push(bitmap);
  return {};
};

/**
 * `block_dirty_bitmap_remove`: a bitmap that may change, taken out of the image first when it is
 * persistent; `release` drops it from the node too (a transaction's remove waits for its commit).
 */
export function removeDirtyBitmap(state: LayerState, node: string, name: string, release: boolean): { bs: BdsNode; bitmap: DirtyBitmap } {
  const { bs, bitmap } = lookupDirtyBitmap(state, node, name);
  acquireNodeContext(state, bs);
  checkDirtyBitmap(bitmap, BITMAP_BUSY | BITMAP_RO);
  if (bitmap.storable) {
    // bdrv_remove_persistent_dirty_bitmap: a coroutine wrapper too.
    waitForNodeCoroutine(state, bs, state.aio.of(bs), "bdrv_remove_persistent_dirty_bitmap");
    bs.driver.removePersistentDirtyBitmap?.(bs, name);
  }
  if (release) bs.dirtyBitmaps!.splice(bs.dirtyBitmaps!.indexOf(bitmap), 1);
  return { bs, bitmap };
}

export const blockDirtyBitmapRemove: CommandHandler = (state, args) => {
  removeDirtyBitmap(state, String(args["node"]), String(args["name"]), true);
  return {};
};

export const blockDirtyBitmapClear: CommandHandler = (state, args) => {
  const { bitmap } = lookupDirtyBitmap(state, String(args["node"]), String(args["name"]));
  checkDirtyBitmap(bitmap, BITMAP_DEFAULT);
  bitmap.clear();
  return {};
};

/** `qmp_x_debug_block_dirty_bitmap_sha256`: any bitmap, busy or not. */
export const xDebugBlockDirtyBitmapSha256: CommandHandler = (state, args) => {
  const { bitmap } = lookupDirtyBitmap(state, String(args["node"]), String(args["name"]));
  return { sha256: bitmap.sha256() };
};

export const blockDirtyBitmapEnable: CommandHandler = (state, args) => {
  const { bitmap } = lookupDirtyBitmap(state, String(args["node"]), String(args["name"]));
  checkDirtyBitmap(bitmap, BITMAP_ALLOW_RO);
  bitmap.recording = true;
  return {};
};

export const blockDirtyBitmapDisable: CommandHandler = (state, args) => {
  const { bitmap } = lookupDirtyBitmap(state, String(args["node"]), String(args["name"]));
  checkDirtyBitmap(bitmap, BITMAP_ALLOW_RO);
  bitmap.recording = false;
  return {};
};

/**
 * `block_dirty_bitmap_merge`: each source in turn (a name on the target's node, or a node and a
 * name); a source that fails puts the target back as it was before the first.
 */
export const blockDirtyBitmapMerge: CommandHandler = (state, args) => {
  const { bs, bitmap: dest } = lookupDirtyBitmap(state, String(args["node"]), String(args["target"]));
  const sources = args["bitmaps"] as unknown[];
  // The backup is made by the first merge and freed at the end: with no source it is NULL, and
  // hbitmap_free(NULL) reads through it.
  if (sources.length === 0) throw new QemuAbort("SIGSEGV", "");
  const backup = dest.snapshot();
  try {
    for (const source of sources) {
      let src: DirtyBitmap;
      if (typeof source === "string") src = findDirtyBitmap(bs, source) ?? fail(`Dirty bitmap '${source}' not found`);
      else {
        const ref = source as { node: string; name: string };
        src = lookupDirtyBitmap(state, ref.node, ref.name).bitmap;
      }
      mergeDirtyBitmap(dest, src);
    }
  } catch (e) {
    dest.restore(backup);
    throw e;
  }
  return {};
};
