/**
 * `copy-before-write` (block/copy-before-write.c): a filter over `file` that copies old data to
 * `target` before a guest write changes it; what the backup job inserts above its source. It
 * cannot be reopened. Reads pass to `file`; writes, zero writes and discards first copy the old
 * data to `target` (data/copy-before-write-io.ts).
 */
import { defaultPerms } from "../child-perms.js";
import { childNamed, type BdsNode } from "../graph.js";
import { DirtyBitmap } from "../jobs/dirty-bitmap.js";
import { nodeLength, totalSectorsLength } from "../node-length.js";
import { OpaqueSlot } from "../opaque.js";
import { bdrvGetInfo } from "../query/named-nodes.js";
import { BLK_PERM_ALL, BLK_PERM_CONSISTENT_READ, BLK_PERM_RESIZE, BLK_PERM_WRITE } from "../perms.js";
import { qemuAssert } from "../qemu-would-crash.js";
import { findDirtyBitmap, mergeDirtyBitmap } from "../dirty-bitmaps.js";
import { fail, QmpFailure } from "../qmp-failure.js";
import { bdrvPdiscard, bdrvPwritev, bdrvPwriteZeroes } from "../data/block-io.js";
import { blockCopyMaxTransfer, copyBeforeWrite, type CbwIoState } from "../data/copy-before-write-io.js";
import { cbwPdiscardSnapshot, cbwPreadvSnapshot, cbwSnapshotBlockStatus, type CbwSnapshotState } from "../data/copy-before-write-snapshot.js";
import { FILTER_IO, keepsSizeHint } from "./filter.js";
import { BDRV_CHILD_DATA, BDRV_CHILD_FILTERED, BDRV_CHILD_PRIMARY } from "../roles.js";
import type { DriverDef } from "./driver.js";

/** BLOCK_COPY_CLUSTER_SIZE_DEFAULT. */
const CLUSTER_SIZE_DEFAULT = 1 << 16;

/** BDRVCopyBeforeWriteState, the part the model keeps: the copy's state, and the bitmaps it made (and frees at close). */
const slot = new OpaqueSlot<CbwSnapshotState>("copy-before-write");

/**
 * `block_copy_calculate_cluster_size`: the target's cluster size, at least 64 KiB; 64 KiB when it
 * has none, with a backing file or without (then QEMU also warns on stderr).
 */
function copyClusterSize(target: BdsNode): number {
  const info = bdrvGetInfo(target);
  return info ? Math.max(CLUSTER_SIZE_DEFAULT, info.clusterSize) : CLUSTER_SIZE_DEFAULT;
}

/** `bdrv_create_dirty_bitmap` (added at the head of bs->dirty_bitmaps), disabled, as block-copy makes them. */
function createDisabledBitmap(bs: BdsNode, granularity: number, length: number, full: boolean): DirtyBitmap {
  const bitmap = new DirtyBitmap(granularity, length, false);
  if (full) bitmap.set(0, length);
  (bs.dirtyBitmaps ??= []).push(bitmap);
  return bitmap;
}

/** `bdrv_release_dirty_bitmap`. */
function releaseBitmap(bs: BdsNode, bitmap: DirtyBitmap): void {
  const i = bs.dirtyBitmaps?.indexOf(bitmap) ?? -1;
  if (i >= 0) bs.dirtyBitmaps!.splice(i, 1);
}

/** `bdrv_cbw_append`'s `*bcs`: the copy state a backup job runs on. */
export function cbwCopyState(node: BdsNode): CbwIoState {
  return slot.get(node);
}

export const copyBeforeWriteDriver: DriverDef = {
  name: "copy-before-write",
  fua: { write: "file", zero: "file" },

  /** `.bdrv_co_flush`: the file, whatever this node may do with it. */
  flushVia(node) {
    const file = childNamed(node, "file");
    return file ? [file.bs] : [];
  },
  protocol: false,
  isFilter: true,
  supportsBacking: false,
  mutableOpts: [],
  refreshedLength: keepsSizeHint,

  /** `cbw_open`: `file` (bdrv_open_file_child: a filter's file is FILTERED|PRIMARY), then `target`, then the bitmap. */
  open(ctx) {
    // cbw_parse_options visits the options as BlockdevOptions first: a node opened from a file
    // name alone (drive-mirror onto an existing target) names no target.
    if (ctx.options["target"] === undefined && !Object.keys(ctx.options).some((k) => k.startsWith("target."))) fail("Parameter 'target' is missing");
    const file = ctx.openChild("file", BDRV_CHILD_FILTERED | BDRV_CHILD_PRIMARY, false)!;
    const target = ctx.openChild("target", BDRV_CHILD_DATA, false)!;
    const bitmapNode = ctx.options["bitmap.node"];
    let userBitmap: DirtyBitmap | undefined;
    if (typeof bitmapNode === "string") {
      // block_dirty_bitmap_lookup.
      const bitmapName = String(ctx.options["bitmap.name"]);
      const holder = ctx.host.findNode(bitmapNode) ?? fail(`Node '${bitmapNode}' not found`);
      userBitmap = findDirtyBitmap(holder, bitmapName) ?? fail(`Dirty bitmap '${bitmapName}' not found`);
    }
    // bs->total_sectors = bs->file->bs->total_sectors: the file's length as last refreshed.
    ctx.node.size = totalSectorsLength(file.bs);
    // block_copy_state_new: what the user's bitmap says is to be copied, else everything, over the
    // file's length asked again (bdrv_getlength); then the filter's own done and access bitmaps.
    const cluster = copyClusterSize(target.bs);
    const length = nodeLength(file.bs);
    const copyBitmap = createDisabledBitmap(file.bs, cluster, length, userBitmap === undefined);
    if (userBitmap) {
      try {
        mergeDirtyBitmap(copyBitmap, userBitmap);
      } catch (e) {
        releaseBitmap(file.bs, copyBitmap);
        // block_copy_state_new's words, then cbw_open's.
        if (e instanceof QmpFailure) fail(`Cannot create block-copy-state: Failed to merge bitmap '${userBitmap.name}' to internal copy-bitmap: ${e.body.desc}`);
        throw e;
      }
    }
    const doneBitmap = createDisabledBitmap(ctx.node, cluster, ctx.node.size, false);
    // s->access_bitmap starts equal to the copy bitmap (bdrv_dirty_bitmap_merge_internal), which
    // asserts the sizes match: they do not when the file's length changed since its last refresh
    // (a preallocate or raw node whose file a reopen replaced).
    const accessBitmap = createDisabledBitmap(ctx.node, cluster, ctx.node.size, false);
    if (length !== ctx.node.size) qemuAssert({ file: "../../util/hbitmap.c", line: 907, func: "hbitmap_merge" }, "b->orig_size == result->orig_size");
    accessBitmap.mergeFrom(copyBitmap);
    const onCbwError = ctx.options["on-cbw-error"] === "break-snapshot" ? "break-snapshot" : "break-guest-write";
    slot.set(ctx.node, { copyBitmap, sourceChild: file, copyBitmapNode: file.bs, targetChild: target, clusterSize: cluster, len: length, doneBitmap, accessBitmap, onCbwError, snapshotError: 0, skipUnallocated: false, compress: false, maxTransfer: blockCopyMaxTransfer(file.bs, target.bs, cluster) });
  },

  /** `cbw_close`: the bitmaps go (block_copy_state_free releases the source's). */
  close(node) {
    const st = slot.get(node);
    releaseBitmap(node, st.accessBitmap);
    releaseBitmap(node, st.doneBitmap);
    releaseBitmap(st.copyBitmapNode, st.copyBitmap);
  },

  /**
   * `cbw_child_perm`: the target is written, and shares all but resize (guest writes may reach it
   * through its backing chain). Once the filter has users, the source may neither be written nor
   * resized by others, and a write through the filter first reads what it overwrites.
   */
  childPerm({ node, child, P, S, writable }) {
    if (!(child.role & BDRV_CHILD_FILTERED)) return [BLK_PERM_WRITE, BLK_PERM_ALL & ~BLK_PERM_RESIZE];
    let [perm, shared] = defaultPerms(child.role, P, S, writable);
    if (node.parents.length > 0) {
      if (P & BLK_PERM_WRITE) perm |= BLK_PERM_CONSISTENT_READ;
      shared &= ~(BLK_PERM_WRITE | BLK_PERM_RESIZE);
    }
    return [perm, shared];
  },

  /** `cbw_co_preadv`: the file's data. */
  preadv: FILTER_IO.preadv,

  /** `cbw_co_pwritev`: copy, then write the file. */
  pwritev(host, node, offset, data, flags) {
    copyBeforeWrite(host, slot.get(node), offset, data.length, flags);
    bdrvPwritev(host, slot.get(node).sourceChild.bs, offset, data, flags);
  },

  /** `cbw_co_pwrite_zeroes`: copy, then zero the file (bdrv_co_pwrite_zeroes unmaps only where it was opened with discard=unmap). */
  pwriteZeroes(host, node, offset, bytes, flags) {
    const st = slot.get(node);
    copyBeforeWrite(host, st, offset, bytes, flags);
    bdrvPwriteZeroes(host, st.sourceChild.bs, offset, bytes, flags);
  },

  /** bs->supported_zero_flags: the file's MAY_UNMAP. */
  supportsZeroUnmap(node) {
    const file = slot.get(node).sourceChild.bs;
    return file.driver.supportsZeroUnmap?.(file) ?? false;
  },

  /** `cbw_co_pdiscard`: copy, then discard on the file. */
  pdiscard(host, node, offset, bytes) {
    copyBeforeWrite(host, slot.get(node), offset, bytes, 0);
    bdrvPdiscard(host, slot.get(node).sourceChild.bs, offset, bytes);
  },

  /** `cbw_co_preadv_snapshot` and the rest of the snapshot API (data/copy-before-write-snapshot.ts). */
  preadvSnapshot(host, node, offset, bytes) {
    return cbwPreadvSnapshot(host, slot.get(node), offset, bytes);
  },
  snapshotBlockStatus(host, node, _wantZero, offset, bytes) {
    return cbwSnapshotBlockStatus(host, slot.get(node), offset, bytes);
  },
  pdiscardSnapshot(host, node, offset, bytes) {
    cbwPdiscardSnapshot(host, slot.get(node), offset, bytes);
  },

  /** `cbw_refresh_filename`: the file child's filename, whatever it is. */
  refreshFilename(_node, { primaryFilename }) {
    return primaryFilename;
  },
};
