/**
 * qcow (version 1) writes (block/qcow.c `qcow_co_pwritev`, `qcow_co_pwritev_compressed` and
 * `get_cluster_offset` allocating), one cluster at a time: a missing L2 table is placed at the end of
 * the file, rounded up to a cluster, its L1 entry written and the table written as zeros; a missing
 * cluster is placed at the end of the file, rounded up likewise, and the file grown over it (so the
 * rest of a cluster written in part reads as zeros, never the backing file's data); then its L2
 * entry is written and the data. A compressed cluster goes unaligned at the end of the file.
 */
import { bdrvFlush, bdrvPreadv, bdrvPwritev } from "../data/block-io.js";
import { Data } from "../data/data.js";
import { Errno, ioFail, ModelIoUnsupportedError } from "../data/io-error.js";
import { deflateCluster } from "../data/qcow2/qcow2-compress.js";
import { bdrvTruncate } from "../data/truncate.js";
import type { Child } from "../graph.js";
import { nodeLength } from "../node-length.js";
import { QmpFailure } from "../qmp-failure.js";
import type { DriverHost } from "./driver.js";
import { decompressCluster, QCOW_OFLAG_COMPRESSED, type QcowTables } from "./qcow-tables.js";

/** `bdrv_co_pwrite_sync`: the write, then a flush of the file. */
function pwriteSync(host: DriverHost, file: Child, offset: number, data: Data): void {
  bdrvPwritev(host, file.bs, offset, data, 0, file);
  bdrvFlush(host, file.bs);
}

const alignUp = (n: number, to: number) => Math.ceil(n / to) * to;

/** A big-endian 64-bit table entry. */
function entry(value: bigint): Data {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(value);
  return Data.bytes(b);
}

/** What to allocate: a cluster for [nStart, nEnd) of it (allocate=1), or a compressed one of `size` bytes (allocate=2). */
type Allocate = { kind: "normal"; nStart: number; nEnd: number } | { kind: "compressed"; size: number };

/** `get_cluster_offset(bs, offset, allocate, …)`: the cluster's L2 entry, allocated if need be. */
function allocateCluster(host: DriverHost, file: Child, t: QcowTables, offset: number, how: Allocate): bigint {
  const clusterSize = 2 ** t.clusterBits;
  const l2Size = 2 ** t.l2Bits;
  const l1Index = Math.floor(offset / 2 ** (t.l2Bits + t.clusterBits));
  let l2Offset = Number(t.l1[l1Index] ?? 0n);
  let l2: Buffer;
  if (!l2Offset) {
    l2Offset = alignUp(nodeLength(file.bs), clusterSize);
    t.l1[l1Index] = BigInt(l2Offset);
    pwriteSync(host, file, t.l1TableOffset + l1Index * 8, entry(BigInt(l2Offset)));
    l2 = Buffer.alloc(l2Size * 8);
    pwriteSync(host, file, l2Offset, Data.bytes(l2));
  } else {
    l2 = bdrvPreadv(host, file.bs, l2Offset, l2Size * 8).toBuffer();
  }
  const l2Index = Math.floor(offset / clusterSize) % l2Size;
  let cluster = l2.readBigUInt64BE(l2Index * 8);
  const compressed = (cluster & QCOW_OFLAG_COMPRESSED) !== 0n;
  // A compressed write over any cluster, or a normal one over a normal cluster, takes it as it is.
  if (cluster !== 0n && !(compressed && how.kind === "normal")) return cluster;
  if (compressed && how.kind === "normal" && how.nEnd - how.nStart < clusterSize) {
    // The part not written is kept: the old cluster, decompressed, goes whole to a new place.
    const whole = decompressCluster(host, file.bs, t, cluster);
    if (!whole) ioFail(Errno.EIO);
    cluster = BigInt(alignUp(nodeLength(file.bs), clusterSize));
    bdrvPwritev(host, file.bs, Number(cluster), Data.bytes(whole), 0, file);
  } else {
    const end = nodeLength(file.bs);
    if (how.kind === "normal") {
      cluster = BigInt(alignUp(end, clusterSize));
      try {
        bdrvTruncate(host, file.bs, Number(cluster) + clusterSize, false, "off", 0);
      } catch (e) {
        if (e instanceof QmpFailure) throw new ModelIoUnsupportedError(`a qcow cluster allocation whose file truncate fails (${e.body.desc})`);
        throw e;
      }
    } else {
      cluster = BigInt(end) | QCOW_OFLAG_COMPRESSED | (BigInt(how.size) << BigInt(63 - t.clusterBits));
    }
  }
  pwriteSync(host, file, l2Offset + l2Index * 8, entry(cluster));
  return cluster;
}

/** `qcow_co_pwritev`. Errors are IoError. */
export function qcowPwritev(host: DriverHost, file: Child, t: QcowTables, offset: number, data: Data): void {
  const clusterSize = 2 ** t.clusterBits;
  // The compressed-cluster cache is disabled.
  t.clusterCache = null;
  let done = 0;
  while (done < data.length) {
    const inCluster = offset % clusterSize;
    const n = Math.min(clusterSize - inCluster, data.length - done);
    const cluster = allocateCluster(host, file, t, offset, { kind: "normal", nStart: inCluster, nEnd: inCluster + n });
    if (!cluster || cluster % 512n !== 0n) ioFail(Errno.EIO);
    bdrvPwritev(host, file.bs, Number(cluster) + inCluster, data.slice(done, n), 0, file);
    offset += n;
    done += n;
  }
}

/**
 * `qcow_co_pwritev_compressed`: one whole cluster (or the image's last, zero-padded), deflated as
 * qcow2 deflates; what does not shrink below a cluster is written as usual.
 */
export function qcowPwritevCompressed(host: DriverHost, file: Child, t: QcowTables, imageSize: number, offset: number, data: Data): void {
  const clusterSize = 2 ** t.clusterBits;
  if (data.length !== clusterSize && (data.length > clusterSize || offset + data.length !== imageSize)) ioFail(Errno.EINVAL);
  const buf = Buffer.alloc(clusterSize);
  data.toBuffer().copy(buf);
  const out = deflateCluster(buf, clusterSize - 1);
  if (!out) {
    qcowPwritev(host, file, t, offset, data);
    return;
  }
  const cluster = allocateCluster(host, file, t, offset, { kind: "compressed", size: out.length });
  if (!cluster) ioFail(Errno.EIO);
  const mask = (1n << BigInt(63 - t.clusterBits)) - 1n;
  bdrvPwritev(host, file.bs, Number(cluster & mask), Data.bytes(out), 0, file);
}
