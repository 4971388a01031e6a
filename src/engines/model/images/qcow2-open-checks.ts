/**
 * qcow2_do_open's checks of the header fields after the first ones (read-image's headerProblem)
 * and before it reads the L1 table, in QEMU 7.2's order. Sizes and offsets are 64-bit in the
 * header and QEMU's arithmetic on them wraps, so they are read as bigints from the header bytes.
 */
import { FEATURE_NAME_LENGTH, H, INCOMPAT_CORRUPT, INCOMPAT_EXTL2, INCOMPAT_KNOWN, MIN_CLUSTER_BITS } from "./qcow2-format.js";
import { cString } from "./qcow2-extensions.js";
import type { HeaderFields } from "./read-image.js";

const INCOMPAT_COMPRESSION = 1n << 3n;
const COMPRESSION_ZLIB = 0;
/** Debian's QEMU is built with zstd (CONFIG_ZSTD). */
const COMPRESSION_ZSTD = 1;
const EXTL2_SUBCLUSTERS = 32;
const MAX_REFCOUNT_ORDER = 6;
const MiB = 1024n * 1024n;
const QCOW_MAX_REFTABLE_SIZE = 8n * MiB;
const QCOW_MAX_L1_SIZE = 32n * MiB;
const QCOW_MAX_SNAPSHOTS = 65536n;
/** sizeof(QCowSnapshotHeader). */
const SNAPSHOT_HEADER_SIZE = 40n;
const L1_ENTRY_SIZE = 8n;
const INT64_MAX = (1n << 63n) - 1n;
const INT_MAX = (1n << 31n) - 1n;
const U64 = (1n << 64n) - 1n;
/** Qcow2Feature: type, bit, name. */
const FEATURE_ENTRY_SIZE = 2 + FEATURE_NAME_LENGTH;
const FEATURE_TYPE_INCOMPATIBLE = 0;

/**
 * Why qcow2_do_open refuses the header `f` (whose first bytes are `head`) between its first checks
 * and the L1 table read, or undefined. `featureTable` reads the feature name table, wanted only
 * for an incompatible feature QEMU does not know.
 */
export function fieldsProblem(head: Buffer, f: HeaderFields, readWrite: boolean, featureTable: () => Buffer | null): string | undefined {
  const incompatible = f.incompatibleFeatures;
  const compression = compressionProblem(f.compressionType, incompatible);
  if (compression !== undefined) return compression;
  if (incompatible & ~INCOMPAT_KNOWN) return unsupportedFeatures(featureTable(), incompatible & ~INCOMPAT_KNOWN);
  if (incompatible & INCOMPAT_CORRUPT && readWrite) return "qcow2: Image is corrupt; cannot be opened read/write";
  const clusterBits = BigInt(f.clusterBits);
  const extendedL2 = (incompatible & INCOMPAT_EXTL2) !== 0n;
  const subclusterSize = 2 ** f.clusterBits / (extendedL2 ? EXTL2_SUBCLUSTERS : 1);
  if (subclusterSize < 2 ** MIN_CLUSTER_BITS) return `Unsupported subcluster size: ${subclusterSize}`;
  if (f.refcountOrder > MAX_REFCOUNT_ORDER) return "Reference count entry width too large; may not exceed 64 bits";
  // Encryption is the options' business in the model (qcow2-options), which stops there.
  const refcountTableClusters = BigInt(head.readUInt32BE(H.refcountTableClusters));
  if (refcountTableClusters === 0n) return "Image does not contain a reference count table";
  const clusterSize = 1n << clusterBits;
  const refcountTableOffset = head.readBigUInt64BE(H.refcountTableOffset);
  const refcountTable = tableProblem(clusterSize, refcountTableOffset, refcountTableClusters, clusterSize, QCOW_MAX_REFTABLE_SIZE, "Reference count table");
  if (refcountTable !== undefined) return refcountTable;
  const snapshots = BigInt(head.readUInt32BE(H.nbSnapshots));
  const snapshotsOffset = head.readBigUInt64BE(H.snapshotsOffset);
  const snapshotTable = tableProblem(clusterSize, snapshotsOffset, snapshots, SNAPSHOT_HEADER_SIZE, SNAPSHOT_HEADER_SIZE * QCOW_MAX_SNAPSHOTS, "Snapshot table");
  if (snapshotTable !== undefined) return snapshotTable;
  const l1Size = BigInt(head.readUInt32BE(H.l1Size));
  const l1Table = tableProblem(clusterSize, head.readBigUInt64BE(H.l1TableOffset), l1Size, L1_ENTRY_SIZE, QCOW_MAX_L1_SIZE, "Active L1 table");
  if (l1Table !== undefined) return l1Table;
  // size_to_l1, in uint64_t: a size near 2^64 wraps to a small index.
  const shift = clusterBits + clusterBits - (extendedL2 ? 4n : 3n);
  const l1VmStateIndex = ((head.readBigUInt64BE(H.size) + (1n << shift) - 1n) & U64) >> shift;
  if (l1VmStateIndex > INT_MAX) return "Image is too big";
  if (l1Size < l1VmStateIndex) return "L1 table is too small";
  return undefined;
}

/** validate_compression_type. */
function compressionProblem(type: number, incompatible: bigint): string | undefined {
  if (type !== COMPRESSION_ZLIB && type !== COMPRESSION_ZSTD) return `qcow2: unknown compression type: ${type}`;
  const flagged = (incompatible & INCOMPAT_COMPRESSION) !== 0n;
  if (type === COMPRESSION_ZLIB && flagged) return "qcow2: Compression type incompatible feature bit must not be set";
  if (type !== COMPRESSION_ZLIB && !flagged) return "qcow2: Compression type incompatible feature bit must be set";
  return undefined;
}

/** qcow2_validate_table. */
function tableProblem(clusterSize: bigint, offset: bigint, entries: bigint, entryLength: bigint, maxBytes: bigint, name: string): string | undefined {
  if (entries > maxBytes / entryLength) return `${name} too large`;
  if (INT64_MAX - entries * entryLength < offset || offset % clusterSize !== 0n) return `${name} offset invalid`;
  return undefined;
}

/** report_unsupported_feature: the table's names for the bits it knows, in its order, then the rest in hex. */
function unsupportedFeatures(table: Buffer | null, mask: bigint): string {
  const names: string[] = [];
  // QEMU pads the table it read with two empty entries; the first entry without a name ends it.
  const padded = table === null ? Buffer.alloc(0) : Buffer.concat([table, Buffer.alloc(2 * FEATURE_ENTRY_SIZE)]);
  for (let at = 0; at + FEATURE_ENTRY_SIZE <= padded.length && padded[at + 2] !== 0; at += FEATURE_ENTRY_SIZE) {
    // 1ULL << bit on x86: the count is taken modulo 64.
    const bit = 1n << BigInt(padded[at + 1]! & 63);
    if (padded[at] === FEATURE_TYPE_INCOMPATIBLE && mask & bit) {
      names.push(cString(padded.subarray(at + 2, at + FEATURE_ENTRY_SIZE)));
      mask &= ~bit;
    }
  }
  if (mask) names.push(`Unknown incompatible feature: ${mask.toString(16)}`);
  return `Unsupported qcow2 feature(s): ${names.join(", ")}`;
}
