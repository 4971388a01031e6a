/**
 * Zero writes and discards on a qcow2 image (block/qcow2.c `qcow2_co_pwrite_zeroes`,
 * `qcow2_co_pdiscard`; block/qcow2-cluster.c `qcow2_subcluster_zeroize`, `zero_in_l2_slice`,
 * `qcow2_cluster_discard`, `discard_in_l2_slice`). Whole clusters become zero clusters (version 3)
 * or go away; a partial cluster is left to the generic code (-ENOTSUP), which writes zeros or, for
 * a discard, does nothing.
 */
import { clusterTable } from "./qcow2-grow-l1.js";
import { readsAsZeros } from "../block-status.js";
import { bdrvPwriteZeroes } from "../block-io.js";
import { Errno, IoError, ioFail } from "../io-error.js";
import { BDRV_REQ_MAY_UNMAP } from "../request-flags.js";
import { clusterType, isAllocatedType, QCOW_OFLAG_ZERO } from "./qcow2-layout.js";
import { getHostOffset, type Qcow2Ctx } from "./qcow2-read.js";

/** `s->discard_passthrough[QCOW2_DISCARD_REQUEST]`: pass-discard-request, by default discard=unmap. */
function passDiscardRequest(q: Qcow2Ctx): boolean {
  const opt = q.node.options["pass-discard-request"];
  return typeof opt === "boolean" ? opt : opt === "on" ? true : opt === "off" ? false : q.node.unmap;
}

/**
 * Run `body` with the discards of the clusters it frees queued and merged (s->cache_discards), then
 * sent, unless it failed.
 */
function withCachedDiscards(q: Qcow2Ctx, body: () => void): void {
  const refcounts = q.img.refcounts;
  refcounts.cacheDiscards = true;
  let ok = false;
  try {
    body();
    ok = true;
  } finally {
    refcounts.cacheDiscards = false;
    refcounts.processDiscards(ok);
  }
}

/** `zero_in_l2_slice` over every L2 table the range touches. */
function zeroClusters(q: Qcow2Ctx, offset: number, nbClusters: number, flags: number): void {
  withCachedDiscards(q, () => zeroSlices(q, offset, nbClusters, flags));
}

function zeroSlices(q: Qcow2Ctx, offset: number, nbClusters: number, flags: number): void {
  const img = q.img;
  while (nbClusters > 0) {
    const { l2Offset, table, index } = clusterTable(q, offset);
    const n = Math.min(nbClusters, img.l2Size - index);
    for (let i = 0; i < n; i++) {
      const old = table[index + i]!;
      const type = clusterType(old, q.hasDataFile);
      const unmap = type === "compressed" || (flags & BDRV_REQ_MAY_UNMAP && isAllocatedType(type));
      const fresh = (unmap ? 0n : old) | QCOW_OFLAG_ZERO;
      if (fresh === old) continue;
      img.setL2Entry(l2Offset, index + i, fresh);
      if (unmap) img.freeAnyCluster(old, { node: q.data, external: q.hasDataFile }, passDiscardRequest(q));
    }
    nbClusters -= n;
    offset += n * img.clusterSize;
  }
}

/** `qcow2_subcluster_zeroize` (aligned ranges; version 2 images have no zero flag). */
export function zeroize(q: Qcow2Ctx, offset: number, bytes: number, flags: number): void {
  // A raw data file is kept in sync: it is zeroed first, with the same flags.
  if (q.dataFileRaw) bdrvPwriteZeroes(q.host, q.data, offset, bytes, flags);
  if (q.img.version < 3) {
    if (!q.backing) {
      discardClusters(q, offset, bytes, false);
      return;
    }
    ioFail(Errno.ENOTSUP);
  }
  zeroClusters(q, offset, q.img.sizeToClusters(bytes), flags);
}

/** `qcow2_co_pwrite_zeroes`: a partial cluster only if the rest of it already reads as zeros. */
export function qcow2PwriteZeroes(q: Qcow2Ctx, offset: number, bytes: number, flags: number): void {
  const img = q.img;
  const head = img.offsetIntoCluster(offset);
  let tail = Math.ceil((offset + bytes) / img.clusterSize) * img.clusterSize - (offset + bytes);
  if (offset + bytes === q.node.size) tail = 0;
  if (head || tail) {
    if (!(isZero(q, offset - head, head) && isZero(q, offset + bytes, tail))) ioFail(Errno.ENOTSUP);
    offset -= head;
    bytes = img.clusterSize;
    const t = getHostOffset(q, offset, bytes).type;
    if (t !== "unallocated" && t !== "zero-plain" && t !== "zero-alloc") ioFail(Errno.ENOTSUP);
  }
  zeroize(q, offset, bytes, flags);
}

/** qcow2.c `is_zero`: the range (clamped to the image) reads as zeros, by block status alone; a failed block status does not. */
function isZero(q: Qcow2Ctx, offset: number, bytes: number): boolean {
  if (offset + bytes > q.node.size) bytes = q.node.size - offset;
  if (bytes <= 0) return true;
  try {
    return readsAsZeros(q.host, q.node, offset, bytes);
  } catch (e) {
    if (e instanceof IoError) return false;
    throw e;
  }
}

/**
 * `qcow2_cluster_discard` → `discard_in_l2_slice` over every L2 table the range touches;
 * `passDiscard`: whether freed clusters are discarded below (s->discard_passthrough[type]).
 */
export function discardClusters(q: Qcow2Ctx, offset: number, bytes: number, fullDiscard: boolean, passDiscard = passDiscardRequest(q)): void {
  withCachedDiscards(q, () => discardSlices(q, offset, bytes, fullDiscard, passDiscard));
}

/** `discard_in_l2_slice` over every L2 table the range touches. */
function discardSlices(q: Qcow2Ctx, offset: number, bytes: number, fullDiscard: boolean, passDiscard: boolean): void {
  const img = q.img;
  let nbClusters = img.sizeToClusters(bytes);
  while (nbClusters > 0) {
    const { l2Offset, table, index } = clusterTable(q, offset);
    const n = Math.min(nbClusters, img.l2Size - index);
    for (let i = 0; i < n; i++) {
      const old = table[index + i]!;
      const type = clusterType(old, q.hasDataFile);
      let fresh = old;
      if (fullDiscard) fresh = 0n;
      else if (q.backing || isAllocatedType(type)) fresh = img.version >= 3 ? QCOW_OFLAG_ZERO : 0n;
      if (fresh === old) continue;
      img.setL2Entry(l2Offset, index + i, fresh);
      img.freeAnyCluster(old, { node: q.data, external: q.hasDataFile }, passDiscard);
    }
    nbClusters -= n;
    offset += n * img.clusterSize;
  }
}

/** `qcow2_co_pdiscard`: whole clusters (or the partial one the image ends in) read back as zeros. */
export function qcow2Pdiscard(q: Qcow2Ctx, offset: number, bytes: number): void {
  const img = q.img;
  if (img.version < 3 && q.backing) ioFail(Errno.ENOTSUP);
  if (img.offsetIntoCluster(offset) || img.offsetIntoCluster(bytes)) {
    if (img.offsetIntoCluster(offset) || offset + bytes !== q.node.size) ioFail(Errno.ENOTSUP);
  }
  discardClusters(q, offset, bytes, false);
}
