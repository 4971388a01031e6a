/**
 * The qcow2 on-disk format, as much of it as blockcheck reads and writes (QEMU's docs/interop/qcow2.txt
 * and block/qcow2.c). All fields are big-endian.
 */

export const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"

/** Header field offsets. */
export const H = {
  magic: 0,
  version: 4,
  backingFileOffset: 8,
  backingFileSize: 16,
  clusterBits: 20,
  size: 24,
  cryptMethod: 32,
  l1Size: 36,
  l1TableOffset: 40,
  refcountTableOffset: 48,
  refcountTableClusters: 56,
  nbSnapshots: 60,
  snapshotsOffset: 64,
  incompatibleFeatures: 72,
  compatibleFeatures: 80,
  autoclearFeatures: 88,
  refcountOrder: 96,
  headerLength: 100,
  compressionType: 104,
} as const;

/** Length of a version 2 header; version 3 headers store their own length (112 from QEMU 5.0 on). */
export const V2_HEADER_LENGTH = 72;
export const V3_HEADER_LENGTH = 112;
/** A version 3 header holds at least the fields up to and including header_length. */
export const V3_MIN_HEADER_LENGTH = 104;

/** Version 2 headers have no refcount_order field: their refcounts are always 16 bits wide. */
export const V2_REFCOUNT_ORDER = 4;

/** A header extension starts with its type and its data length (4 bytes each). */
export const EXT_HEADER_LENGTH = 8;
/** Extension data is padded to a multiple of this. */
export const EXT_ALIGNMENT = 8;

/** Header extension types. */
export const EXT_END = 0;
export const EXT_BACKING_FORMAT = 0xe2792aca;
export const EXT_FEATURE_TABLE = 0x6803f857;
export const EXT_DATA_FILE = 0x44415441;
export const EXT_CRYPTO_HEADER = 0x0537be77;
export const EXT_BITMAPS = 0x23852875;

/** crypt_method values (qcow2.h). */
export const QCOW_CRYPT_AES = 1;
export const QCOW_CRYPT_LUKS = 2;

/** Incompatible feature bit: the image is corrupt, and may only be opened read-only. */
export const INCOMPAT_CORRUPT = 1n << 1n;
/** Incompatible feature bit: guest data lives in an external data file. */
export const INCOMPAT_DATA_FILE = 1 << 2;
/** Incompatible feature bit: L2 entries are 16 bytes wide (subclusters). */
export const INCOMPAT_EXTL2 = 1n << 4n;
/** Incompatible feature bits QEMU 7.2 knows (QCOW2_INCOMPAT_MASK): dirty, corrupt, data file, compression type, extended L2. */
export const INCOMPAT_KNOWN = 0x1fn;
/** Compatible feature bit: lazy refcounts. */
export const COMPAT_LAZY_REFCOUNTS = 1n;
/** Autoclear feature bit: the external data file is a valid raw image. */
export const AUTOCLEAR_DATA_FILE_RAW = 1n << 1n;
/** Autoclear feature bit: the bitmaps extension is consistent with the image. */
export const AUTOCLEAR_BITMAPS = 1n;
/** Autoclear feature bits QEMU 7.2 knows (QCOW2_AUTOCLEAR_MASK); it clears the others when it may write. */
export const AUTOCLEAR_KNOWN = AUTOCLEAR_BITMAPS | AUTOCLEAR_DATA_FILE_RAW;

/** L1 and L2 tables are arrays of 64-bit entries. */
export const TABLE_ENTRY_SIZE = 8;
// Table entries are read as the data path reads them.
export { L1E_OFFSET_MASK, QCOW_OFLAG_COMPRESSED, QCOW_OFLAG_ZERO } from "../data/qcow2/qcow2-layout.js";

/** qemu-img 7.2's feature name table, in the order it writes it: [type, bit, name]. */
export const FEATURE_TABLE: readonly [number, number, string][] = [
  [0, 0, "dirty bit"],
  [0, 1, "corrupt bit"],
  [0, 2, "external data file"],
  [0, 3, "compression type"],
  [0, 4, "extended L2 entries"],
  [1, 0, "lazy refcounts"],
  [2, 0, "bitmaps"],
  [2, 1, "raw external data"],
];
export const FEATURE_NAME_LENGTH = 46;

/** QEMU's limits (block/qcow2.h). */
export const MIN_CLUSTER_BITS = 9;
export const MAX_CLUSTER_BITS = 21;
export const MAX_BACKING_FILE_NAME = 1023;

/** Round up to a multiple of `n`. */
export const roundUp = (x: number, n: number) => Math.ceil(x / n) * n;

/** The feature name table extension as qcow2_update_header writes it: one 48-byte entry per feature. */
export function featureTable(): Buffer {
  const entry = 2 + FEATURE_NAME_LENGTH;
  const table = Buffer.alloc(FEATURE_TABLE.length * entry);
  FEATURE_TABLE.forEach(([type, bit, name], i) => {
    table.writeUInt8(type, i * entry);
    table.writeUInt8(bit, i * entry + 1);
    table.write(name, i * entry + 2, "latin1");
  });
  return table;
}

/** sizeof(bs->backing_format). */
export const BACKING_FORMAT_SIZE = 16;

/**
 * The backing format extension's data qcow2_update_header writes: bs->backing_format, which
 * qcow2_change_backing_file filled with pstrcpy, so a longer driver name ("copy-before-write") is
 * cut to 15 bytes.
 */
export function backingFormatExtension(format: string): Buffer {
  return Buffer.from(format, "utf8").subarray(0, BACKING_FORMAT_SIZE - 1);
}
