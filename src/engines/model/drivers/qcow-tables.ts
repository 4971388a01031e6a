/**
 * qcow (version 1) lookups (block/qcow.c `get_cluster_offset` with allocate=0) and the reads and
 * block status built on them (`qcow_co_preadv`, `qcow_co_block_status`), one cluster at a time as
 * QEMU goes. L2 tables are read through the node's `file` child (writes put them there at once,
 * qcow-write.ts); a compressed cluster is inflated into the one-cluster cache.
 */
import { bdrvPreadv } from "../data/block-io.js";
import { Data } from "../data/data.js";
import { Errno, IoError, ioFail } from "../data/io-error.js";
import { inflateCluster } from "../data/qcow2/qcow2-compress.js";
import { BDRV_BLOCK_DATA, BDRV_BLOCK_OFFSET_VALID } from "../data/request-flags.js";
import type { BdsNode } from "../graph.js";
import type { BlockStatusAnswer, DriverHost } from "./driver.js";

export const QCOW_OFLAG_COMPRESSED = 1n << 63n;

/** BDRVQcowState, the part reads need. */
export interface QcowTables {
  clusterBits: number;
  l2Bits: number;
  /** s->l1_table, read at open. */
  l1: bigint[];
  /** s->l1_table_offset. */
  l1TableOffset: number;
  /** s->cluster_cache and s->cluster_cache_offset: the last compressed cluster inflated. */
  clusterCache: { offset: bigint; data: Buffer } | null;
}

/**
 * `decompress_cluster`: the cluster the compressed L2 entry names, inflated (from the cache when it
 * holds that offset), or null when it does not inflate to a whole cluster.
 */
export function decompressCluster(host: DriverHost, file: BdsNode, t: QcowTables, entry: bigint): Buffer | null {
  const clusterSize = 2 ** t.clusterBits;
  const offset = entry & ((1n << BigInt(63 - t.clusterBits)) - 1n);
  if (t.clusterCache?.offset === offset) return t.clusterCache.data;
  const size = Number((entry >> BigInt(63 - t.clusterBits)) & BigInt(clusterSize - 1));
  if (offset > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  let data: Buffer | null;
  try {
    data = inflateCluster(bdrvPreadv(host, file, Number(offset), size).toBuffer(), clusterSize);
  } catch (e) {
    if (e instanceof IoError) return null;
    throw e;
  }
  if (data) t.clusterCache = { offset, data };
  return data;
}

/** `get_cluster_offset(bs, offset, 0, …)`: the L2 entry for `offset`, 0n when unallocated. */
function clusterOffset(host: DriverHost, file: BdsNode, t: QcowTables, offset: number): bigint {
  const l1Index = Math.floor(offset / 2 ** (t.l2Bits + t.clusterBits));
  const l2Offset = t.l1[l1Index] ?? 0n;
  if (l2Offset === 0n) return 0n;
  const l2Size = 2 ** t.l2Bits;
  const l2Index = Math.floor(offset / 2 ** t.clusterBits) % l2Size;
  if (l2Offset > BigInt(Number.MAX_SAFE_INTEGER)) ioFail(Errno.EIO);
  return bdrvPreadv(host, file, Number(l2Offset) + l2Index * 8, 8).toBuffer().readBigUInt64BE(0);
}

/** `qcow_co_preadv`: cluster by cluster, from the backing file (zeros without one) where nothing is allocated. */
export function qcowPreadv(host: DriverHost, file: BdsNode, backing: BdsNode | null, t: QcowTables, offset: number, bytes: number): Data {
  const clusterSize = 2 ** t.clusterBits;
  const parts: Data[] = [];
  while (bytes > 0) {
    const cluster = clusterOffset(host, file, t, offset);
    const inCluster = offset % clusterSize;
    const n = Math.min(clusterSize - inCluster, bytes);
    if (cluster === 0n) parts.push(backing ? bdrvPreadv(host, backing, offset, n) : Data.zeros(n));
    else if (cluster & QCOW_OFLAG_COMPRESSED) {
      const whole = decompressCluster(host, file, t, cluster);
      if (!whole) ioFail(Errno.EIO);
      parts.push(Data.bytes(Buffer.from(whole.subarray(inCluster, inCluster + n))));
    }
    else if (cluster & 511n) ioFail(Errno.EIO);
    else parts.push(bdrvPreadv(host, file, Number(cluster) + inCluster, n));
    offset += n;
    bytes -= n;
  }
  return Data.concat(parts);
}

/** `qcow_co_block_status`: one cluster at most; compressed data has no offset. */
export function qcowBlockStatus(host: DriverHost, file: BdsNode, t: QcowTables, offset: number, bytes: number): BlockStatusAnswer {
  const clusterSize = 2 ** t.clusterBits;
  const cluster = clusterOffset(host, file, t, offset);
  const inCluster = offset % clusterSize;
  const pnum = Math.min(clusterSize - inCluster, bytes);
  if (cluster === 0n) return { status: 0, pnum, map: 0, file: null };
  if (cluster & QCOW_OFLAG_COMPRESSED) return { status: BDRV_BLOCK_DATA, pnum, map: 0, file: null };
  return { status: BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID, pnum, map: Number(cluster | BigInt(inCluster)), file };
}
