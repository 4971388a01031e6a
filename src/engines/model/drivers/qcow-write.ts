/**
 * qcow (version 1) writes (block/qcow.c `qcow_co_pwritev` and `get_cluster_offset` with allocate=1),
 * one cluster at a time: a missing L2 table is placed at the end of the file, rounded up to a
 * cluster, its L1 entry written and the table written as zeros; a missing cluster is placed at the
 * end of the file, rounded up likewise, and the file grown over it (so the rest of a cluster written
 * in part reads as zeros, never the backing file's data); then its L2 entry is written and the data.
 */
import { bdrvFlush, bdrvPreadv, bdrvPwritev } from "../data/block-io.js";
import { Data } from "../data/data.js";
import { Errno, ioFail, ModelIoUnsupportedError } from "../data/io-error.js";
import { bdrvTruncate } from "../data/truncate.js";
import type { Child } from "../graph.js";
import { nodeLength } from "../node-length.js";
import { QmpFailure } from "../qmp-failure.js";
import type { DriverHost } from "./driver.js";
import { QCOW_OFLAG_COMPRESSED, type QcowTables } from "./qcow-tables.js";

/** `bdrv_co_pwrite_sync`: the write, then a flush of the file. */
function pwriteSync(host: DriverHost, file: Child, offset: number, data: Data): void {
  bdrvPwritev(host, file.bs, offset, data, 0, file);
  bdrvFlush(host, file.bs);
}

const alignUp = (n: number, to: number) => Math.ceil(n / to) * to;

/** A big-endian 64-bit table entry. */
function entry(value: number): Data {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(value));
  return Data.bytes(b);
}

/** `get_cluster_offset(bs, offset, 1, 0, …)`: the cluster's offset in the file, allocated if need be. */
function allocateCluster(host: DriverHost, file: Child, t: QcowTables, offset: number): number {
  const clusterSize = 2 ** t.clusterBits;
  const l2Size = 2 ** t.l2Bits;
  const l1Index = Math.floor(offset / 2 ** (t.l2Bits + t.clusterBits));
  let l2Offset = Number(t.l1[l1Index] ?? 0n);
  let l2: Buffer;
  if (!l2Offset) {
    l2Offset = alignUp(nodeLength(file.bs), clusterSize);
    t.l1[l1Index] = BigInt(l2Offset);
    pwriteSync(host, file, t.l1TableOffset + l1Index * 8, entry(l2Offset));
    l2 = Buffer.alloc(l2Size * 8);
    pwriteSync(host, file, l2Offset, Data.bytes(l2));
  } else {
    l2 = bdrvPreadv(host, file.bs, l2Offset, l2Size * 8).toBuffer();
  }
  const l2Index = Math.floor(offset / clusterSize) % l2Size;
  const current = l2.readBigUInt64BE(l2Index * 8);
  if (current !== 0n && !(current & QCOW_OFLAG_COMPRESSED)) return Number(current);
  if (current & QCOW_OFLAG_COMPRESSED) throw new ModelIoUnsupportedError("writes over compressed clusters in a qcow image");
  const cluster = alignUp(nodeLength(file.bs), clusterSize);
  try {
    bdrvTruncate(host, file.bs, cluster + clusterSize, false, "off", 0);
  } catch (e) {
    if (e instanceof QmpFailure) throw new ModelIoUnsupportedError(`a qcow cluster allocation whose file truncate fails (${e.body.desc})`);
    throw e;
  }
  pwriteSync(host, file, l2Offset + l2Index * 8, entry(cluster));
  return cluster;
}

/** `qcow_co_pwritev`. Errors are IoError. */
export function qcowPwritev(host: DriverHost, file: Child, t: QcowTables, offset: number, data: Data): void {
  const clusterSize = 2 ** t.clusterBits;
  let done = 0;
  while (done < data.length) {
    const inCluster = offset % clusterSize;
    const n = Math.min(clusterSize - inCluster, data.length - done);
    const cluster = allocateCluster(host, file, t, offset);
    if (!cluster || cluster % 512 !== 0) ioFail(Errno.EIO);
    bdrvPwritev(host, file.bs, cluster + inCluster, data.slice(done, n), 0, file);
    offset += n;
    done += n;
  }
}
