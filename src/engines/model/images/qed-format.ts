/**
 * The QED on-disk format (block/qed.h, docs/interop/qed_spec.txt): a 64-byte little-endian header,
 * the backing file name after it, an L1 table of `table_size` clusters, L2 tables of the same size.
 */

/** "QED\0" read as a little-endian 32-bit number. */
export const QED_MAGIC = 0x00444551;

/** QEDHeader's size: what the driver reads at open and writes back. */
export const QED_HEADER_SIZE = 64;

/** Feature bits. */
export const QED_F_BACKING_FILE = 0x01n;
export const QED_F_NEED_CHECK = 0x02n;
export const QED_F_BACKING_FORMAT_NO_PROBE = 0x04n;
/** The feature bits QEMU 7.2 knows; any other refuses the open. */
export const QED_FEATURE_MASK = QED_F_BACKING_FILE | QED_F_NEED_CHECK | QED_F_BACKING_FORMAT_NO_PROBE;
/** No compat or autoclear features are known. */
export const QED_COMPAT_FEATURE_MASK = 0n;
export const QED_AUTOCLEAR_FEATURE_MASK = 0n;

export const QED_DEFAULT_CLUSTER_SIZE = 65536;
export const QED_MIN_CLUSTER_SIZE = 4 * 1024;
export const QED_MAX_CLUSTER_SIZE = 64 * 1024 * 1024;
export const QED_MIN_TABLE_SIZE = 1;
export const QED_MAX_TABLE_SIZE = 16;
export const QED_DEFAULT_TABLE_SIZE = 4;

/** QEDHeader, cpu-endian. */
export interface QedHeader {
  magic: number;
  clusterSize: number;
  tableSize: number;
  headerSize: number;
  features: bigint;
  compatFeatures: bigint;
  autoclearFeatures: bigint;
  l1TableOffset: bigint;
  imageSize: bigint;
  backingFilenameOffset: number;
  backingFilenameSize: number;
}

/** `qed_header_le_to_cpu`. */
export function parseQedHeader(buf: Buffer): QedHeader {
  return {
    magic: buf.readUInt32LE(0),
    clusterSize: buf.readUInt32LE(4),
    tableSize: buf.readUInt32LE(8),
    headerSize: buf.readUInt32LE(12),
    features: buf.readBigUInt64LE(16),
    compatFeatures: buf.readBigUInt64LE(24),
    autoclearFeatures: buf.readBigUInt64LE(32),
    l1TableOffset: buf.readBigUInt64LE(40),
    imageSize: buf.readBigUInt64LE(48),
    backingFilenameOffset: buf.readUInt32LE(56),
    backingFilenameSize: buf.readUInt32LE(60),
  };
}

/** `qed_header_cpu_to_le`. */
export function serializeQedHeader(h: QedHeader): Buffer {
  const buf = Buffer.alloc(QED_HEADER_SIZE);
  buf.writeUInt32LE(h.magic, 0);
  buf.writeUInt32LE(h.clusterSize, 4);
  buf.writeUInt32LE(h.tableSize, 8);
  buf.writeUInt32LE(h.headerSize, 12);
  buf.writeBigUInt64LE(h.features, 16);
  buf.writeBigUInt64LE(h.compatFeatures, 24);
  buf.writeBigUInt64LE(h.autoclearFeatures, 32);
  buf.writeBigUInt64LE(h.l1TableOffset, 40);
  buf.writeBigUInt64LE(h.imageSize, 48);
  buf.writeUInt32LE(h.backingFilenameOffset, 56);
  buf.writeUInt32LE(h.backingFilenameSize, 60);
  return buf;
}

const isPowerOfTwo = (x: number) => x > 0 && (x & (x - 1)) === 0;

/** `qed_is_cluster_size_valid`. */
export function qedClusterSizeValid(clusterSize: number): boolean {
  return clusterSize >= QED_MIN_CLUSTER_SIZE && clusterSize <= QED_MAX_CLUSTER_SIZE && isPowerOfTwo(clusterSize);
}

/** `qed_is_table_size_valid`. */
export function qedTableSizeValid(tableSize: number): boolean {
  return tableSize >= QED_MIN_TABLE_SIZE && tableSize <= QED_MAX_TABLE_SIZE && isPowerOfTwo(tableSize);
}

/** `qed_max_image_size`: what one L1 table of L2 tables of clusters covers. */
export function qedMaxImageSize(clusterSize: number, tableSize: number): bigint {
  const entries = BigInt((tableSize * clusterSize) / 8);
  return entries * BigInt(clusterSize) * entries;
}

/** `qed_is_image_size_valid`: whole sectors, at most what the tables cover. */
export function qedImageSizeValid(imageSize: bigint, clusterSize: number, tableSize: number): boolean {
  return imageSize % 512n === 0n && imageSize <= qedMaxImageSize(clusterSize, tableSize);
}
