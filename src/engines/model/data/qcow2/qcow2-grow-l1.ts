/**
 * Growing a qcow2 image's L1 table (block/qcow2-cluster.c): to the size truncate asks, or, where a
 * write lands past what the table covers (the VM state, after the guest's disk), as
 * `get_cluster_table` asks.
 */
import { bdrvFlush, bdrvPwritev } from "../block-io.js";
import { Data } from "../data.js";
import { Errno, IoError, ioFail, strerror } from "../io-error.js";
import { metadataRequest } from "../metadata-request.js";
import { H } from "../../images/qcow2-format.js";
import type { L2Table } from "./qcow2-image.js";
import type { Qcow2Ctx } from "./qcow2-read.js";

const INT_MAX = 2 ** 31 - 1;

/** QCOW_MAX_L1_SIZE: the largest L1 table QEMU makes, in bytes. */
const QCOW_MAX_L1_SIZE = 32 * 1024 * 1024;

/**
 * `qcow2_grow_l1_table`: to `minSize` entries when `exact` (truncate), else half as large again
 * until it holds them. The table is copied to new clusters (the refcount cache flushed first, the
 * place checked against the other metadata), the header pointed at it, and the old table's
 * clusters freed (QCOW2_DISCARD_OTHER). A failure frees the new clusters and leaves the old table
 * in place.
 */
export function growL1Table(q: Qcow2Ctx, minSize: number, exact: boolean, discardOther: boolean): void {
  const img = q.img;
  if (minSize <= img.l1Size) return;
  if (minSize > INT_MAX / 8) ioFail(Errno.EFBIG);
  let size = minSize;
  if (!exact) {
    size = Math.max(img.l1Size, 1);
    while (minSize > size) size = Math.ceil((size * 3) / 2);
  }
  if (size > QCOW_MAX_L1_SIZE / 8) ioFail(Errno.EFBIG);
  const bytes = size * 8;
  const offset = img.allocClusters(bytes);
  try {
    img.flushRefcountCache();
    img.preWriteOverlapCheck(offset, bytes);
    const table = Buffer.alloc(bytes);
    for (let i = 0; i < img.l1Size; i++) table.writeBigUInt64BE(img.l1[i]!, i * 8);
    metadataRequest(() => bdrvPwritev(q.host, img.file, offset, Data.bytes(table)));
    bdrvFlush(q.host, img.file);
    const pointer = Buffer.alloc(12);
    pointer.writeUInt32BE(size, 0);
    pointer.writeBigUInt64BE(BigInt(offset), 4);
    metadataRequest(() => bdrvPwritev(q.host, img.file, H.l1Size, Data.bytes(pointer)));
    bdrvFlush(q.host, img.file);
  } catch (e) {
    if (e instanceof IoError) freeClusters(q, offset, bytes, discardOther);
    throw e;
  }
  const [oldOffset, oldSize] = [img.l1Offset, img.l1Size];
  img.replaceL1Table(offset, size);
  freeClusters(q, oldOffset, oldSize * 8, discardOther);
}

/** `qcow2_free_clusters`, which reports a failure on stderr and goes on. */
export function freeClusters(q: Qcow2Ctx, offset: number, bytes: number, discard: boolean): void {
  try {
    q.img.refcounts.free(offset, bytes, discard);
  } catch (e) {
    if (!(e instanceof IoError)) throw e;
    q.host.stderrLine?.(`qcow2_free_clusters failed: ${strerror(e.errno)}`);
  }
}

/** `get_cluster_table`: the L1 table grown first where it does not reach `guest`. */
export function clusterTable(q: Qcow2Ctx, guest: number): { l2Offset: number; table: L2Table; index: number } {
  const l1Index = q.img.l1Index(guest);
  if (l1Index >= q.img.l1Size) growL1Table(q, l1Index + 1, false, q.discardOther ?? false);
  return q.img.getClusterTable(guest);
}
