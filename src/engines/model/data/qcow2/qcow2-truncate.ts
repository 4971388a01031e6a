/**
 * `qcow2_co_truncate` (block/qcow2.c): shrinking discards the cut clusters, shrinks the L1 and
 * refcount tables and cuts the file's tail; growing grows the L1 table and the external data file,
 * and makes the new area zero clusters when a longer backing file would show through
 * (BDRV_REQ_ZERO_WRITE); either way the header's size is written. Preallocation is not modelled
 * yet: ModelIoUnsupportedError, never a made-up answer.
 */
import { H } from "../../images/qcow2-format.js";
import { nodeLength } from "../../node-length.js";
import { failErrno, QmpFailure } from "../../qmp-failure.js";
import { bdrvFlush, bdrvPwritev, bdrvPwriteZeroes } from "../block-io.js";
import { metadataRequest } from "../metadata-request.js";
import { Data } from "../data.js";
import { Errno, IoError, ModelIoUnsupportedError, strerror } from "../io-error.js";
import { BDRV_REQ_ZERO_WRITE } from "../request-flags.js";
import { bdrvTruncate, type PreallocMode } from "../truncate.js";
import { L1E_OFFSET_MASK } from "./qcow2-layout.js";
import type { Qcow2Ctx } from "./qcow2-read.js";
import { qcow2Pwritev } from "./qcow2-write.js";
import { discardClusters, zeroize } from "./qcow2-zero.js";
import { freeClusters, growL1Table } from "./qcow2-grow-l1.js";

/** Run a metadata step; an I/O error becomes `error_setg_errno(errp, -ret, what)`. */
function step(what: string, body: () => void): void {
  try {
    body();
  } catch (e) {
    if (e instanceof IoError) failErrno(`${what}: ${strerror(e.errno)}`, e.errno);
    throw e;
  }
}

/**
 * The shrinking half of `qcow2_co_truncate`: the cut clusters are discarded for good (their L2
 * entries cleared, QCOW2_DISCARD_ALWAYS), the L1 entries past the new size let go of their L2
 * tables, refcount blocks that count nothing leave the refcount table, and the file loses the
 * clusters past the last one still referenced.
 */
function shrink(q: Qcow2Ctx, offset: number, oldLength: number, newL1Size: number): void {
  const img = q.img;
  const cutStart = Math.ceil(offset / img.clusterSize) * img.clusterSize;
  // Within the last cluster, QEMU's byte count (old_length - cutStart, unsigned) wraps, and
  // size_to_clusters wraps it back to no cluster at all: nothing is discarded.
  if (oldLength > cutStart) step("Failed to discard cropped clusters", () => discardClusters(q, cutStart, oldLength - cutStart, true, true));
  step("Failed to reduce the number of L2 tables", () => shrinkL1Table(q, newL1Size));
  step("Failed to discard unused refblocks", () => img.refcounts.shrinkTable());
  // qcow2_get_last_cluster over the file's length (in whole sectors, as bdrv_getlength has it).
  const oldFileSize = nodeLength(img.file);
  let last = Math.ceil(oldFileSize / img.clusterSize) - 1;
  step("Failed to find the last cluster", () => {
    try {
      while (last >= 0 && img.refcounts.get(last) === 0) last--;
    } catch (e) {
      if (e instanceof IoError) q.host.stderrLine?.(`Can't get refcount for cluster ${last}: ${strerror(e.errno)}`);
      throw e;
    }
    if (last < 0) img.corrupt(true, -1, -1, "There are no references in the refcount table.");
  });
  const end = (last + 1) * img.clusterSize;
  if (end < oldFileSize) {
    try {
      bdrvTruncate(q.host, img.file, end, false, "off", 0);
    } catch (e) {
      // QEMU only warns ("Failed to truncate the tail of the image: …").
      if (e instanceof QmpFailure) throw new ModelIoUnsupportedError("a qcow2 shrink whose file cannot be cut");
      throw e;
    }
  }
}

/**
 * `qcow2_shrink_l1_table`: the entries past `newSize` are zeroed in the image (the file flushed
 * after), then their L2 tables freed, last first, each dropped from memory as it goes; a failed
 * write drops them all from memory. The table keeps its size (s->l1_size), as the header does.
 */
function shrinkL1Table(q: Qcow2Ctx, newSize: number): void {
  const img = q.img;
  if (newSize >= img.l1Size) return;
  try {
    metadataRequest(() => bdrvPwriteZeroes(q.host, img.file, img.l1Offset + newSize * 8, (img.l1Size - newSize) * 8, 0));
    bdrvFlush(q.host, img.file);
  } catch (e) {
    if (e instanceof IoError) img.l1.fill(0n, newSize);
    throw e;
  }
  for (let i = img.l1Size - 1; i >= newSize; i--) {
    const l2Offset = img.l1[i]! & L1E_OFFSET_MASK;
    if (l2Offset === 0n) continue;
    freeClusters(q, Number(l2Offset), img.clusterSize, true);
    img.l1[i] = 0n;
  }
}

/** `qcow2_co_truncate`; the caller then sets bs->total_sectors (the node's size). */
export function qcow2Truncate(
  q: Qcow2Ctx,
  offset: number,
  exact: boolean,
  prealloc: PreallocMode,
  flags: number,
  dataFileRaw: boolean,
  discardOther: boolean,
): void {
  if (offset % 512 !== 0) failErrno("The new size must be a multiple of 512", Errno.EINVAL);
  const img = q.img;
  const oldLength = q.node.size;
  // size_to_l1
  const newL1Size = Math.ceil(offset / (img.clusterSize * img.l2Size));
  if (offset < oldLength) {
    if (prealloc !== "off") failErrno("Preallocation can't be used for shrinking an image", Errno.EINVAL);
    // The cut clusters' discards would go to the stale pointer as to an external data file.
    if (q.staleDataFile) throw new ModelIoUnsupportedError(`shrinking '${q.node.name}' after a failed reopen left its s->data_file stale`);
    shrink(q, offset, oldLength, newL1Size);
  } else {
    step("Failed to grow the L1 table", () => growL1Table(q, newL1Size, true, discardOther));
    // A data-file-raw image keeps its metadata preallocated over what it grows by.
    if (dataFileRaw && prealloc === "off") prealloc = "metadata";
  }
  if (prealloc !== "off") throw new ModelIoUnsupportedError(`growing a qcow2 image with preallocation '${prealloc}'`);
  // has_data_file() is s->data_file != bs->file, so a stale pointer is truncated too.
  if (q.hasDataFile || q.staleDataFile) bdrvTruncate(q.host, q.data, offset, exact, prealloc, 0);
  if (flags & BDRV_REQ_ZERO_WRITE && offset > oldLength) {
    // Without extended L2 entries a subcluster is a cluster.
    const zeroStart = Math.ceil(oldLength / img.clusterSize) * img.clusterSize;
    if (offset > zeroStart) step("Failed to zero out new clusters", () => zeroize(q, zeroStart, offset - zeroStart, 0));
    if (zeroStart > oldLength) {
      const len = Math.min(zeroStart, offset) - oldLength;
      step("Failed to zero out the new area", () => qcow2Pwritev(q, oldLength, Data.zeros(len)));
    }
  }
  const size = Buffer.alloc(8);
  size.writeBigUInt64BE(BigInt(offset));
  // bdrv_co_pwrite_sync: the write, then a flush of the file.
  step("Failed to update the image size", () => {
    metadataRequest(() => bdrvPwritev(q.host, img.file, H.size, Data.bytes(size)));
    bdrvFlush(q.host, img.file);
  });
}
