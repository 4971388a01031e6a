/**
 * QED's two-level table lookup (block/qed-cluster.c `qed_find_cluster`) and the reads and block
 * status built on it (block/qed.c `bdrv_qed_co_readv`, `bdrv_qed_co_block_status`). Tables are read
 * through the node's `file` child, as QEMU's L2 cache reads them (writes put them there at once).
 */
import { bdrvDebugEvent, bdrvPreadv } from "../data/block-io.js";
import { cachedRead, metadataRequest } from "../data/metadata-request.js";
import { Data } from "../data/data.js";
import { Errno, ioFail } from "../data/io-error.js";
import { BDRV_BLOCK_DATA, BDRV_BLOCK_OFFSET_VALID, BDRV_BLOCK_ZERO } from "../data/request-flags.js";
import type { BdsNode } from "../graph.js";
import type { QedHeader } from "../images/qed-format.js";
import type { BlockStatusAnswer, DriverHost } from "./driver.js";

/** BDRVQEDState, the part reads need. */
export interface QedTables {
  header: QedHeader;
  /** s->file_size: the file's length rounded down to whole clusters, as of open. */
  fileSize: number;
  /** s->l1_table. */
  l1: number[];
  /** The offsets of the L2 tables in s->l2_cache, oldest first. */
  l2Cache: number[];
}

/** MAX_L2_CACHE_SIZE of block/qed-l2-cache.c. */
const MAX_L2_CACHE_SIZE = 50;

/**
 * `qed_commit_l2_cache_entry`: a table read or made goes to the end of the cache, the oldest
 * leaving once it holds MAX_L2_CACHE_SIZE (requests hold none of them between the model's steps).
 */
export function commitL2CacheEntry(t: QedTables, l2Offset: number): void {
  if (t.l2Cache.includes(l2Offset)) return;
  if (t.l2Cache.length >= MAX_L2_CACHE_SIZE) t.l2Cache.shift();
  t.l2Cache.push(l2Offset);
}

/**
 * `qed_read_l2_table`: a table in the L2 cache is not read again. The model still takes its
 * entries from the file (QEMU writes a changed table there at once), but as a read that cannot
 * wait; one not in the cache is read, then committed to it.
 */
export function readL2Table(host: DriverHost, file: BdsNode, t: QedTables, l2Offset: number): number[] {
  if (!t.l2Cache.includes(l2Offset)) {
    const table = readQedTable(host, file, t, l2Offset);
    commitL2CacheEntry(t, l2Offset);
    return table;
  }
  const armed = host.waitWithoutLock;
  host.waitWithoutLock = null;
  try {
    return cachedRead(() => readQedTable(host, file, t, l2Offset));
  } finally {
    host.waitWithoutLock = armed;
  }
}

/**
 * What `qed_find_cluster` found for a range: QED_CLUSTER_FOUND, _ZERO, or unallocated, with
 * `noL2` for QED_CLUSTER_L1 (no L2 table yet) rather than QED_CLUSTER_L2.
 */
export type Found = { kind: "found"; offset: number; len: number } | { kind: "zero"; len: number } | { kind: "unallocated"; len: number; noL2: boolean };

/** s->table_nelems. */
export const entriesPerTable = (h: QedHeader) => (h.clusterSize * h.tableSize) / 8;

/** `qed_check_cluster_offset`: cluster-aligned, past the header, inside the file. */
export function qedCheckClusterOffset(t: Pick<QedTables, "header" | "fileSize">, offset: number): boolean {
  const h = t.header;
  if (offset % h.clusterSize !== 0) return false;
  return offset >= h.headerSize * h.clusterSize && offset < t.fileSize;
}

/** `qed_check_table_offset`: both ends of the table are valid clusters (a one-cluster table never is: QEMU's overflow test). */
export function qedCheckTableOffset(t: Pick<QedTables, "header" | "fileSize">, offset: number): boolean {
  const end = offset + (t.header.tableSize - 1) * t.header.clusterSize;
  if (end <= offset) return false;
  return qedCheckClusterOffset(t, offset) && qedCheckClusterOffset(t, end);
}

/** A table's entries (little-endian offsets) as numbers. */
export function readQedTable(host: DriverHost, file: BdsNode, t: Pick<QedTables, "header">, offset: number): number[] {
  const raw = metadataRequest(() => bdrvPreadv(host, file, offset, t.header.clusterSize * t.header.tableSize)).toBuffer();
  const out = new Array<number>(raw.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = Number(raw.readBigUInt64LE(i * 8));
  return out;
}

/** `qed_find_cluster` for [pos, pos + len): the first run of clusters of one kind. Errors are IoError. */
export function findCluster(host: DriverHost, file: BdsNode, t: QedTables, pos: number, len: number): Found {
  const h = t.header;
  const n = entriesPerTable(h);
  const l2Span = n * h.clusterSize;
  const l1Index = Math.floor(pos / l2Span);
  // Limit the length to the L2 table's boundary.
  len = Math.min(len, (l1Index + 1) * l2Span - pos);
  const l2Offset = t.l1[l1Index] ?? 0;
  if (l2Offset === 0) return { kind: "unallocated", len, noL2: true };
  if (!qedCheckTableOffset(t, l2Offset)) ioFail(Errno.EINVAL);
  const l2 = readL2Table(host, file, t, l2Offset);
  const into = pos % h.clusterSize;
  const index = Math.floor(pos / h.clusterSize) % n;
  const want = Math.ceil((len + into) / h.clusterSize);
  // qed_count_contiguous_clusters: a run of unallocated, of zero, or of consecutive clusters.
  const first = l2[index]!;
  let count = 1;
  while (count < want && index + count < n) {
    const e = l2[index + count]!;
    if (first === 0 || first === 1 ? e !== first : e !== first + count * h.clusterSize) break;
    count++;
  }
  len = Math.min(len, count * h.clusterSize - into);
  if (first === 0) return { kind: "unallocated", len, noL2: false };
  if (first === 1) return { kind: "zero", len };
  if (!qedCheckClusterOffset(t, first)) ioFail(Errno.EINVAL);
  return { kind: "found", offset: first, len };
}

/** `qed_aio_read_data` over a whole request: data from the file, zeros, or the backing file (zeros without one). */
export function qedPreadv(host: DriverHost, file: BdsNode, backing: BdsNode | null, t: QedTables, offset: number, bytes: number): Data {
  const parts: Data[] = [];
  let pos = offset;
  while (pos < offset + bytes) {
    const f = findCluster(host, file, t, pos, offset + bytes - pos);
    if (f.kind === "found") {
      bdrvDebugEvent(file, "read_aio");
      parts.push(bdrvPreadv(host, file, f.offset + (pos % t.header.clusterSize), f.len));
    } else if (f.kind === "zero" || backing === null) {
      parts.push(Data.zeros(f.len));
    } else {
      parts.push(qedReadBackingFile(host, file, backing, pos, f.len));
    }
    pos += f.len;
  }
  return Data.concat(parts);
}

/** `qed_read_backing_file` with a backing file: block/io.c zero-fills past the backing node's end. */
export function qedReadBackingFile(host: DriverHost, file: BdsNode, backing: BdsNode, pos: number, len: number): Data {
  bdrvDebugEvent(file, "read_backing_aio");
  return bdrvPreadv(host, backing, pos, len);
}

/** `bdrv_qed_co_block_status`. */
export function qedBlockStatus(host: DriverHost, file: BdsNode, t: QedTables, offset: number, bytes: number): BlockStatusAnswer {
  const f = findCluster(host, file, t, offset, bytes);
  if (f.kind === "found") {
    return { status: BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID, pnum: f.len, map: f.offset + (offset % t.header.clusterSize), file };
  }
  return { status: f.kind === "zero" ? BDRV_BLOCK_ZERO : 0, pnum: f.len, map: 0, file: null };
}
