/**
 * A fresh qcow2 image as qcow2_co_create 7.2 writes it (for `qemu-img create -f qcow2` and
 * blockdev-create alike): header and extensions in cluster 0, refcount table in cluster 1, one
 * refcount block in cluster 2, the L1 table from cluster 3, the file ending where the L1 table ends.
 * qemu-img's is a version 3 image with 64 KiB clusters and 16-bit refcounts.
 */
import type { ImageSpec } from "../../engine.js";
import { ImageSpecError } from "./image-errors.js";
import type { ImageLayout, LayoutChunk } from "./image-layout.js";
import {
  backingFormatExtension,
  EXT_BACKING_FORMAT,
  EXT_DATA_FILE,
  EXT_END,
  EXT_FEATURE_TABLE,
  featureTable,
  H,
  INCOMPAT_DATA_FILE,
  MAX_BACKING_FILE_NAME,
  QCOW2_MAGIC,
  V3_HEADER_LENGTH,
  roundUp,
} from "./qcow2-format.js";

/**
 * The header fields qcow2_co_create takes from its options (blockdev-create gives them all;
 * qemu-img's image is the defaults): cluster size, version, refcount width and feature bits.
 */
export interface Qcow2Geometry {
  clusterBits: number;
  /** 2 or 3. */
  version: number;
  refcountOrder: number;
  /** Incompatible feature bits besides the data file's (compression type, extended L2). */
  incompatible: bigint;
  compatible: bigint;
  autoclear: bigint;
  /** The header's compression_type byte (version 3). */
  compressionType: number;
  extendedL2: boolean;
  /** preallocation=metadata (qcow2_co_truncate → preallocate_co): L2 tables and data clusters allocated. */
  preallocMetadata?: boolean;
}

/** What `qemu-img create -f qcow2` writes without -o options. */
export const DEFAULT_QCOW2_GEOMETRY: Qcow2Geometry = {
  clusterBits: 16,
  version: 3,
  refcountOrder: 4,
  incompatible: 0n,
  compatible: 0n,
  autoclear: 0n,
  compressionType: 0,
  extendedL2: false,
};

/** qcow2: backing file and format, data file; no other creation options yet. */
export function qcow2Image(spec: ImageSpec, size: number): ImageLayout {
  return qcow2Layout(size, spec);
}

/** Why the model cannot lay out an image qcow2_co_create would make: it is not one fresh refcount block's worth. */
export class Qcow2LayoutUnsupported extends Error {}

/**
 * The parts of a fresh qcow2 image that qcow2_co_create writes, and its file length: cluster 0 the
 * header as qcow2_update_header writes it, cluster 1 the refcount table, cluster 2 its one refcount
 * block, then the L1 table qcow2_grow_l1_table allocates when the image is given its size.
 */
export function qcow2Layout(
  size: number,
  spec: Pick<ImageSpec, "backingFile" | "backingFormat" | "dataFile">,
  geometry: Qcow2Geometry = DEFAULT_QCOW2_GEOMETRY,
): ImageLayout & { dataFileTail?: LayoutChunk } {
  const cluster = 2 ** geometry.clusterBits;
  const l2Entries = cluster / (geometry.extendedL2 ? 16 : 8);
  const l1Size = Math.ceil(size / (cluster * l2Entries));
  const l1Clusters = Math.ceil((l1Size * 8) / cluster);
  const l1Offset = l1Size > 0 ? 3 * cluster : 0;

  const extensions: Array<[number, Buffer]> = [];
  if (spec.backingFormat !== undefined) extensions.push([EXT_BACKING_FORMAT, backingFormatExtension(spec.backingFormat)]);
  if (spec.dataFile !== undefined) extensions.push([EXT_DATA_FILE, Buffer.from(spec.dataFile, "utf8")]);
  // A feature table would leave too little room for a backing file name in small clusters.
  if (geometry.version >= 3 && cluster > 4096) extensions.push([EXT_FEATURE_TABLE, featureTable()]);
  extensions.push([EXT_END, Buffer.alloc(0)]);
  const backingName = spec.backingFile === undefined ? undefined : Buffer.from(spec.backingFile, "utf8");
  if (backingName !== undefined && (backingName.length === 0 || backingName.length > MAX_BACKING_FILE_NAME)) {
    throw new ImageSpecError(`backing file name must be 1 to ${MAX_BACKING_FILE_NAME} bytes, not ${backingName.length}`);
  }
  // Version 2 headers end before the incompatible features.
  const headerLength = geometry.version >= 3 ? V3_HEADER_LENGTH : H.incompatibleFeatures;
  // Cluster 0 holds the header, its extensions and the backing file name, then zeros.
  const used = extensions.reduce((n, [, data]) => n + 8 + roundUp(data.length, 8), headerLength) + (backingName?.length ?? 0);
  if (used > cluster) throw new Qcow2LayoutUnsupported(`a qcow2 header of ${used} bytes in ${cluster}-byte clusters`);
  const header = Buffer.alloc(used);
  header.writeUInt32BE(QCOW2_MAGIC, H.magic);
  header.writeUInt32BE(geometry.version, H.version);
  header.writeUInt32BE(geometry.clusterBits, H.clusterBits);
  header.writeBigUInt64BE(BigInt(size), H.size);
  header.writeUInt32BE(l1Size, H.l1Size);
  header.writeBigUInt64BE(BigInt(l1Offset), H.l1TableOffset);
  header.writeBigUInt64BE(BigInt(cluster), H.refcountTableOffset);
  header.writeUInt32BE(1, H.refcountTableClusters);
  if (geometry.version >= 3) {
    const incompatible = geometry.incompatible | (spec.dataFile !== undefined ? BigInt(INCOMPAT_DATA_FILE) : 0n);
    header.writeBigUInt64BE(incompatible, H.incompatibleFeatures);
    header.writeBigUInt64BE(geometry.compatible, H.compatibleFeatures);
    header.writeBigUInt64BE(geometry.autoclear, H.autoclearFeatures);
    header.writeUInt32BE(geometry.refcountOrder, H.refcountOrder);
    header.writeUInt32BE(V3_HEADER_LENGTH, H.headerLength);
    header.writeUInt8(geometry.compressionType, H.compressionType);
  }

  let offset = headerLength;
  for (const [type, data] of extensions) {
    header.writeUInt32BE(type, offset);
    header.writeUInt32BE(data.length, offset + 4);
    data.copy(header, offset + 8);
    offset += 8 + roundUp(data.length, 8);
  }
  if (backingName !== undefined) {
    header.writeBigUInt64BE(BigInt(offset), H.backingFileOffset);
    header.writeUInt32BE(backingName.length, H.backingFileSize);
    backingName.copy(header, offset);
  }

  const refcountTable = Buffer.alloc(8);
  refcountTable.writeBigUInt64BE(BigInt(2 * cluster));
  const metadataEnd = 3 + (l1Size > 0 ? l1Clusters : 0);
  const prealloc = geometry.preallocMetadata && size > 0 ? preallocateMetadata(size, cluster, l2Entries, metadataEnd, spec.dataFile !== undefined) : undefined;
  const allocated = prealloc?.clusters ?? metadataEnd;
  // More clusters than one refcount block counts: qcow2_alloc_clusters would allocate more blocks.
  if (allocated > (cluster * 8) / 2 ** geometry.refcountOrder) {
    throw new Qcow2LayoutUnsupported(`a qcow2 image whose ${allocated} clusters need more than one refcount block`);
  }
  const refcountBlock = refcountsOfOne(allocated, geometry.refcountOrder);

  // Whole clusters and the whole (zero) L1 table are written, not just their non-zero bytes, so the
  // file's allocation — the "actual-size" QEMU reports — is the same as qemu-img's.
  const chunks: LayoutChunk[] = [
    { offset: 0, bytes: header, zeros: cluster - header.length },
    { offset: cluster, bytes: refcountTable, zeros: cluster - refcountTable.length },
    { offset: 2 * cluster, bytes: refcountBlock, zeros: cluster - refcountBlock.length },
  ];
  if (l1Size > 0) chunks.push({ offset: l1Offset, bytes: prealloc?.l1 ?? Buffer.alloc(0), zeros: l1Size * 8 - (prealloc?.l1.length ?? 0) });
  if (prealloc) {
    for (const t of prealloc.l2Tables) chunks.push({ offset: t.offset, bytes: t.bytes, zeros: cluster - t.bytes.length });
    if (spec.dataFile !== undefined) return { chunks, length: prealloc.end, ...(prealloc.tail ? { dataFileTail: prealloc.tail } : {}) };
    if (prealloc.tail) chunks.push(prealloc.tail);
    return { chunks, length: prealloc.end };
  }
  return { chunks, length: l1Size > 0 ? l1Offset + l1Size * 8 : 3 * cluster };
}

/** QCOW_OFLAG_COPIED: the cluster's refcount is exactly 1. */
const OFLAG_COPIED = 1n << 63n;

/**
 * `preallocate_co` from guest offset 0: for each L2 table's range in turn, the L2 table is allocated
 * (l2_allocate) and then its data clusters, all from the next free cluster, and linked with their
 * COPIED flags; nothing is written to the data clusters but the part of the last one past the
 * image's end, which perform_cow fills with zeros (its COW region); the file is then truncated to
 * the end of the last range's data, if it is not that long yet. With an external data file
 * (`dataFile`), do_alloc_cluster_offset maps each cluster to its own guest offset in that file and
 * allocates nothing in the image: only the L2 tables take clusters, the file ends with the last,
 * and the tail's zeros (in data-file offsets) go to the data file.
 */
function preallocateMetadata(
  size: number,
  cluster: number,
  l2Entries: number,
  firstFree: number,
  dataFile: boolean,
): { l1: Buffer; l2Tables: { offset: number; bytes: Buffer }[]; tail?: LayoutChunk; clusters: number; end: number } {
  const guestClusters = Math.ceil(size / cluster);
  const tables = Math.ceil(guestClusters / l2Entries);
  // With more L2 tables, how much of the file QEMU's writes leave allocated varies from run to run.
  if (tables > 1) throw new Qcow2LayoutUnsupported(`a qcow2 image preallocated with ${tables} L2 tables`);
  const l1 = Buffer.alloc(tables * 8);
  const l2Tables: { offset: number; bytes: Buffer }[] = [];
  let next = firstFree;
  let end = 0;
  for (let t = 0; t < tables; t++) {
    const l2Offset = next++ * cluster;
    l1.writeBigUInt64BE(BigInt(l2Offset) | OFLAG_COPIED, t * 8);
    const count = Math.min(l2Entries, guestClusters - t * l2Entries);
    const l2 = Buffer.alloc(count * 8);
    const dataStart = dataFile ? t * l2Entries : next;
    for (let i = 0; i < count; i++) l2.writeBigUInt64BE(BigInt((dataStart + i) * cluster) | OFLAG_COPIED, i * 8);
    if (!dataFile) next += count;
    l2Tables.push({ offset: l2Offset, bytes: l2 });
    end = dataFile ? next * cluster : dataStart * cluster + (size - t * l2Entries * cluster);
  }
  const rem = size % cluster;
  if (rem === 0) return { l1, l2Tables, clusters: next, end };
  const lastCluster = dataFile ? (guestClusters - 1) * cluster : (next - 1) * cluster;
  const tail = { offset: lastCluster + rem, bytes: Buffer.alloc(0), zeros: cluster - rem };
  return { l1, l2Tables, tail, clusters: next, end: dataFile ? end : lastCluster + cluster };
}

/**
 * The start of a refcount block whose first `count` entries are 1, each 2^order bits wide: big-endian
 * from a byte on, packed from the least significant bit in narrower ones (qcow2-refcount.c
 * set_refcount_ro0 … ro6).
 */
function refcountsOfOne(count: number, order: number): Buffer {
  const bits = 2 ** order;
  const block = Buffer.alloc(Math.ceil((count * bits) / 8));
  for (let i = 0; i < count; i++) {
    if (bits < 8) block[Math.floor((i * bits) / 8)]! |= 1 << ((i * bits) % 8);
    else block[((i + 1) * bits) / 8 - 1] = 1;
  }
  return block;
}
