/**
 * The `block-dirty-bitmap-*` commands (block/monitor/bitmap-qmp-cmds.c, block/dirty-bitmap.c):
 * named bitmaps a user puts on a node, which every write and discard to the node then marks
 * (data/block-io.ts), an NBD export can publish (exports.ts) and copy-before-write can start from.
 * Persistent bitmaps are checked as far as `bdrv_can_store_new_dirty_bitmap` refuses them; one that
 * qcow2 would store in its image is refused as a limit of the model.
 */
import { acquireNodeContext } from "../aio-context/iothread-objects.js";
import { checkDirtyBitmap, findDirtyBitmap, lookupDirtyBitmap, mergeDirtyBitmap } from "../dirty-bitmaps.js";
import type { BdsNode } from "../graph.js";
import { DirtyBitmap } from "../jobs/dirty-bitmap.js";
import { ModelUnsupportedError } from "../model-unsupported.js";
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
 * `bdrv_can_store_new_dirty_bitmap`, as far as it refuses: a driver that cannot store bitmaps, or
 * qcow2's own checks (`qcow2_co_can_store_new_dirty_bitmap`). One qcow2 would store is a limit of
 * the model, which does not write qcow2's bitmap directory.
 */
function refusePersistent(bs: BdsNode, name: string): never {
  const supports = bs.driver.supportsPersistentDirtyBitmap;
  if (!supports) fail(`Can't store persistent bitmaps to ${bs.name}: Operation not supported`);
  if (findDirtyBitmap(bs, name)) fail(`Bitmap already exists: ${name}`);
  if (!supports(bs)) fail(`Can't make bitmap '${name}' persistent in '${bs.name}': Cannot store dirty bitmaps in qcow2 v2 files`);
  throw new ModelUnsupportedError("persistent dirty bitmaps (stored in a qcow2 image)");
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
  if (args["persistent"] === true) refusePersistent(bs, name);
  // bdrv_create_dirty_bitmap: at the head of bs->dirty_bitmaps (the model keeps them oldest first).
  if (findDirtyBitmap(bs, name)) fail(`Bitmap already exists: ${name}`);
  if (Buffer.byteLength(name) > MAX_NAME) fail(`Bitmap name too long: ${name}`);
  const bitmap = new DirtyBitmap(granularity, nodeLength(bs), args["disabled"] !== true, name);
  (bs.dirtyBitmaps ??= []).push(bitmap);
  return {};
};

export const blockDirtyBitmapRemove: CommandHandler = (state, args) => {
  const { bs, bitmap } = lookupDirtyBitmap(state, String(args["node"]), String(args["name"]));
  acquireNodeContext(state, bs);
  checkDirtyBitmap(bitmap);
  bs.dirtyBitmaps!.splice(bs.dirtyBitmaps!.indexOf(bitmap), 1);
  return {};
};

export const blockDirtyBitmapClear: CommandHandler = (state, args) => {
  const { bitmap } = lookupDirtyBitmap(state, String(args["node"]), String(args["name"]));
  checkDirtyBitmap(bitmap);
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
  checkDirtyBitmap(bitmap);
  bitmap.recording = true;
  return {};
};

export const blockDirtyBitmapDisable: CommandHandler = (state, args) => {
  const { bitmap } = lookupDirtyBitmap(state, String(args["node"]), String(args["name"]));
  checkDirtyBitmap(bitmap);
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
