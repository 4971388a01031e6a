/**
 * Reading image files: qcow2 (QEMU's docs/interop/qcow2.txt) when the magic is there, raw otherwise.
 * One parse of the header serves two readers. `readImage` gives the drivers what blockdev-add needs
 * and accepts whatever header it finds, as the model's drivers always have; `readImageInfo` sums the
 * image up as `qemu-img info` does and rejects, with QEMU's own messages, the headers QEMU 7.2's
 * qcow2_do_open rejects.
 *
 * Synchronous, because the model's core is (benchmarks drive it without promises). Reads stay in the
 * header cluster, plus one L1 and one L2 entry.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import type { HostFiles } from "../data/host-file.js";
import { ImageFormatError, ImageReadError, Qcow2HeaderRefusal } from "./image-errors.js";
import { cString, readExtensions } from "./qcow2-extensions.js";
import { fieldsProblem } from "./qcow2-open-checks.js";
import {
  AUTOCLEAR_DATA_FILE_RAW,
  COMPAT_LAZY_REFCOUNTS,
  H,
  INCOMPAT_DATA_FILE,
  INCOMPAT_EXTL2,
  L1E_OFFSET_MASK,
  MAX_BACKING_FILE_NAME,
  MAX_CLUSTER_BITS,
  MIN_CLUSTER_BITS,
  QCOW2_MAGIC,
  QCOW_OFLAG_COMPRESSED,
  QCOW_OFLAG_ZERO,
  TABLE_ENTRY_SIZE,
  V2_HEADER_LENGTH,
  V2_REFCOUNT_ORDER,
  V3_HEADER_LENGTH,
  V3_MIN_HEADER_LENGTH,
} from "./qcow2-format.js";

/** What the drivers learn from an image file. */
export interface ImageFile {
  fileSize: number;
  /** Bytes the host file system allocated to the file. */
  allocated: number;
  /** The qcow2 header, or null when the drivers take the file for raw or its header is refused. */
  qcow2: Qcow2Header | null;
  /** Why the qcow2 driver refuses a header that has the magic (qcow2_do_open's checks of the header, its extensions and its backing file name). */
  qcow2Problem?: string;
}

/** What the qcow2 driver learns from the header. */
export interface Qcow2Header {
  virtualSize: number;
  /** Backing file name exactly as stored ("" when none). */
  backingFile: string;
  /** Backing format from the header extension ("" when none). */
  backingFormat: string;
  version: number;
  clusterSize: number;
  refcountBits: number;
  /** The image keeps its guest data in an external data file (incompatible feature bit 2). */
  externalDataFile: boolean;
  /** The external data file's name from the header extension ("" when none), as stored. */
  dataFile: string;
  /**
   * Where guest offset 0 reads from: an unallocated cluster reads the backing file, a zero cluster
   * zeros, and "data" is somewhere in the image file (the model does not follow it).
   */
  firstCluster: "unallocated" | "zero" | "data";
  /** crypt_method: 0 none, 1 AES, 2 LUKS. */
  cryptMethod: number;
  /** Compatible feature bit 0: lazy refcounts (what `lazy-refcounts` defaults to). */
  lazyRefcounts: boolean;
  /** The incompatible feature bits as the header has them (bit 0: dirty, refcounts not to be trusted). */
  incompatibleFeatures: bigint;
  /** Incompatible feature bit 4: extended L2 entries (16 bytes each instead of 8). */
  extendedL2: boolean;
  /** Autoclear feature bit 1: the external data file is a valid raw image. */
  dataFileRaw: boolean;
  /** The header's compression_type (0 zlib, 1 zstd). */
  compressionType: number;
}

/** An image as `qemu-img info` would summarise it. */
export interface ImageInfo {
  format: "qcow2" | "raw";
  /** Guest-visible size in bytes (for raw: the file size). */
  virtualSize: number;
  /** Size of the file in bytes. */
  size: number;
  /** Backing file name exactly as stored in the header (qcow2 only). */
  backingFile?: string;
  /** Backing format from the header extension (qcow2 only, when present). */
  backingFormat?: string;
  /** Cluster size in bytes (qcow2 only). */
  clusterSize?: number;
}

/**
 * Read `absPath` for the drivers, through the engine's host files when given (the files the model
 * made are in memory only). Never rejects a header: blockdev-add in the model opens what it
 * finds. Throws ImageReadError when the file cannot be opened or read.
 */
export function readImage(absPath: string, files?: HostFiles): ImageFile {
  return withImage(absPath, files, (image) => {
    const fields = readFields(image);
    // A file with the magic but shorter than a version 2 header opens as raw, as it always has in
    // the model (readImageInfo rejects it instead).
    const isQcow2 = image.size >= V2_HEADER_LENGTH && fields.magic === QCOW2_MAGIC;
    const base = { fileSize: image.size, allocated: image.allocated };
    if (!isQcow2) return { ...base, qcow2: null };
    // qcow and qcow2 share the magic: a qcow (version 1) image reaches these checks.
    const problem = openProblem(image, fields);
    if (problem !== undefined) return { ...base, qcow2: null, qcow2Problem: problem };
    return { ...base, qcow2: qcow2Header(fields, readNames(image, fields), image) };
  });
}

/** Read `absPath`'s format, sizes and backing file (through `files` as readImage). Throws ImageReadError or ImageFormatError. */
export function readImageInfo(absPath: string, files?: HostFiles): ImageInfo {
  return withImage(absPath, files, (image) => {
    const fields = readFields(image);
    // A file too short for a whole header still counts if it has the magic: the missing fields
    // read as zeros, and fail the checks below.
    if (fields.magic !== QCOW2_MAGIC) return { format: "raw", virtualSize: image.size, size: image.size };
    const problem = openProblem(image, fields);
    if (problem !== undefined) throw new ImageFormatError(absPath, problem);
    const { virtualSize, clusterBits } = fields;
    const info: ImageInfo = { format: "qcow2", virtualSize, size: image.size, clusterSize: 2 ** clusterBits };
    // qemu-img shows a backing format only along with a backing file.
    const { backingFile, backingFormat } = readNames(image, fields);
    if (backingFile !== "") {
      info.backingFile = backingFile;
      if (backingFormat !== "") info.backingFormat = backingFormat;
    }
    return info;
  });
}

/**
 * An open image file, or a node's bytes. Reads past its end see zeros, as they do through QEMU's
 * block layer. `what` names a read as qcow2_do_open's message for its failure does; a reader over
 * a node (drivers/qcow2.ts) fails the open with it.
 */
export interface ImageBytes {
  size: number;
  allocated: number;
  read(offset: number, length: number, what?: string): Buffer;
}

/** The first read; it usually covers the header, its extensions and the backing file name. */
const HEAD_LENGTH = 4096;
/** st_blocks counts 512-byte units whatever the file system's block size. */
const STAT_BLOCK_SIZE = 512;

/** Run `use` on the bytes of `absPath` (through `files` as readImage). Throws ImageReadError. */
export function withImage<T>(absPath: string, files: HostFiles | undefined, use: (image: ImageBytes) => T): T {
  // open(2) looks at the name before anything on disk: a component longer than NAME_MAX, or a path
  // of PATH_MAX bytes with its NUL, is ENAMETOOLONG whether or not the file exists.
  if (Buffer.byteLength(absPath) >= 4096 || absPath.split("/").some((c) => Buffer.byteLength(c) > 255)) throw new ImageReadError(absPath, "ENAMETOOLONG");
  const held = files?.entry(absPath) ?? { kind: "disk" as const };
  // open(2) of a directory succeeds; reading it fails, as the header read below does on disk.
  if (held.kind === "directory") throw new ImageReadError(absPath, "EISDIR");
  if (held.kind === "file") {
    const f = held.file;
    const size = f.length;
    return use({ size, allocated: f.allocatedBytes(), read: (offset, length) => f.read(offset, length).toBuffer() });
  }
  const fd = fsCall(absPath, () => openSync(absPath, "r"));
  try {
    const { size, blocks } = fsCall(absPath, () => fstatSync(fd));
    const pread = (offset: number, length: number): Buffer => {
      const buf = Buffer.alloc(length);
      if (offset < size) fsCall(absPath, () => readSync(fd, buf, 0, Math.min(length, size - offset), offset));
      return buf;
    };
    // Read even when nothing in it is needed: a directory opens, and only reading it fails (EISDIR).
    const head = pread(0, HEAD_LENGTH);
    const read = (offset: number, length: number) =>
      offset + length <= HEAD_LENGTH ? head.subarray(offset, offset + length) : pread(offset, length);
    return use({ size, allocated: blocks * STAT_BLOCK_SIZE, read });
  } finally {
    closeSync(fd);
  }
}

/** Run a file system call, turning its failure into an ImageReadError carrying the errno. */
function fsCall<T>(absPath: string, call: () => T): T {
  try {
    return call();
  } catch (e) {
    throw new ImageReadError(absPath, (e as NodeJS.ErrnoException).code ?? "EIO", { cause: e });
  }
}

/** The fixed-size part of a qcow2 header, with version 2's implied values for the fields it lacks. */
export interface HeaderFields {
  magic: number;
  version: number;
  backingFileOffset: number;
  backingFileSize: number;
  clusterBits: number;
  virtualSize: number;
  l1Size: number;
  l1TableOffset: number;
  nbSnapshots: number;
  incompatibleFeatures: bigint;
  compatibleFeatures: bigint;
  autoclearFeatures: bigint;
  cryptMethod: number;
  refcountOrder: number;
  headerLength: number;
  /** compression_type: 0 zlib, 1 zstd; zlib in a header too short to hold it. */
  compressionType: number;
}

function readFields(image: ImageBytes): HeaderFields {
  return headerFields(image.read(0, V3_HEADER_LENGTH, "Could not read qcow2 header"));
}

/** The fields of `h`, the header as qcow2_do_open reads it first: sizeof(QCowHeader) bytes at 0. */
export function headerFields(h: Buffer): HeaderFields {
  const version = h.readUInt32BE(H.version);
  // Versions above 3 (which only the drivers accept) read like version 3.
  const v3 = version >= 3;
  return {
    magic: h.readUInt32BE(H.magic),
    version,
    backingFileOffset: Number(h.readBigUInt64BE(H.backingFileOffset)),
    backingFileSize: h.readUInt32BE(H.backingFileSize),
    clusterBits: h.readUInt32BE(H.clusterBits),
    virtualSize: Number(h.readBigUInt64BE(H.size)),
    l1Size: h.readUInt32BE(H.l1Size),
    l1TableOffset: Number(h.readBigUInt64BE(H.l1TableOffset)),
    nbSnapshots: h.readUInt32BE(H.nbSnapshots),
    incompatibleFeatures: v3 ? h.readBigUInt64BE(H.incompatibleFeatures) : 0n,
    compatibleFeatures: v3 ? h.readBigUInt64BE(H.compatibleFeatures) : 0n,
    autoclearFeatures: v3 ? h.readBigUInt64BE(H.autoclearFeatures) : 0n,
    cryptMethod: h.readUInt32BE(H.cryptMethod),
    refcountOrder: v3 ? h.readUInt32BE(H.refcountOrder) : V2_REFCOUNT_ORDER,
    headerLength: v3 ? h.readUInt32BE(H.headerLength) : V2_HEADER_LENGTH,
    compressionType: v3 && h.readUInt32BE(H.headerLength) > H.compressionType ? h.readUInt8(H.compressionType) : 0,
  };
}

/** Why the qcow2 driver would refuse a file that starts with `head` (its first bytes), or undefined. */
export function qcow2OpenRefusal(head: Buffer): string | undefined {
  const image: ImageBytes = {
    size: head.length,
    allocated: 0,
    read: (offset, length) => {
      const out = Buffer.alloc(length);
      head.copy(out, 0, offset, Math.min(head.length, offset + length));
      return out;
    },
  };
  const fields = readFields(image);
  if (fields.magic !== QCOW2_MAGIC) return "Image is not in qcow2 format";
  return openProblem(image, fields);
}

/** QEMU 7.2's objection to the header's first fields (qcow2_do_open's first checks, in its order), or undefined. */
export function headerProblem(f: HeaderFields): string | undefined {
  if (f.version !== 2 && f.version !== 3) return `Unsupported qcow2 version ${f.version}`;
  if (f.clusterBits < MIN_CLUSTER_BITS || f.clusterBits > MAX_CLUSTER_BITS) return `Unsupported cluster size: 2^${f.clusterBits}`;
  const clusterSize = 2 ** f.clusterBits;
  if (f.version === 3 && f.headerLength < V3_MIN_HEADER_LENGTH) return "qcow2 header too short";
  if (f.headerLength > clusterSize) return "qcow2 header exceeds cluster size";
  if (f.backingFileOffset > clusterSize) return "Invalid backing file offset";
  return undefined;
}

/** qcow2_do_open's check of the backing file name's length, which it makes after reading the extensions. */
export function backingNameProblem(f: HeaderFields): string | undefined {
  const maxName = Math.min(MAX_BACKING_FILE_NAME, 2 ** f.clusterBits - f.backingFileOffset);
  if (f.backingFileOffset !== 0 && f.backingFileSize > maxName) return "Backing file name too long";
  return undefined;
}

/**
 * qcow2_do_open's objection to the header, its extensions and its backing file name, in its
 * order, for readers that do not open the image (a read-only open: a corrupt image passes).
 */
function openProblem(image: ImageBytes, f: HeaderFields): string | undefined {
  return (
    headerProblem(f) ??
    fieldsProblem(image.read(0, V3_HEADER_LENGTH), f, false, () => readExtensions(image, f, { strict: false, featureTable: true }).featureTable) ??
    extensionsProblem(image, f) ??
    backingNameProblem(f)
  );
}

function extensionsProblem(image: ImageBytes, f: HeaderFields): string | undefined {
  try {
    readExtensions(image, f, { strict: true });
    return undefined;
  } catch (e) {
    if (e instanceof Qcow2HeaderRefusal) return e.message;
    throw e;
  }
}

/**
 * The header the qcow2 driver keeps, with the names read from it; where guest cluster 0 is mapped
 * is read from `mapped` (none: it counts as data), since reading it is not part of QEMU's open.
 */
export function qcow2Header(f: HeaderFields, names: HeaderNames, mapped: ImageBytes | null): Qcow2Header {
  return {
    virtualSize: f.virtualSize,
    ...names,
    version: f.version,
    clusterSize: 2 ** f.clusterBits,
    refcountBits: 2 ** f.refcountOrder,
    externalDataFile: (f.incompatibleFeatures & BigInt(INCOMPAT_DATA_FILE)) !== 0n,
    firstCluster: mapped ? firstCluster(mapped, f) : "data",
    cryptMethod: f.cryptMethod,
    lazyRefcounts: (f.compatibleFeatures & COMPAT_LAZY_REFCOUNTS) !== 0n,
    incompatibleFeatures: f.incompatibleFeatures,
    extendedL2: (f.incompatibleFeatures & INCOMPAT_EXTL2) !== 0n,
    dataFileRaw: (f.autoclearFeatures & AUTOCLEAR_DATA_FILE_RAW) !== 0n,
    compressionType: f.compressionType,
  };
}

export type HeaderNames = Pick<Qcow2Header, "backingFile" | "backingFormat" | "dataFile">;

/**
 * The names the header stores, "" for those it lacks, read leniently: a refused extension ends
 * the extensions quietly (the driver's open reads them strictly, drivers/qcow2.ts).
 */
function readNames(image: ImageBytes, f: HeaderFields): HeaderNames {
  const { backingFormat, dataFile } = readExtensions(image, f, { strict: false });
  return { backingFile: backingFileName(image, f), backingFormat, dataFile };
}

/** The backing file name the header points at ("" when none), its read failing with the open's message. */
export function backingFileName(image: ImageBytes, f: HeaderFields): string {
  if (f.backingFileOffset === 0 || f.backingFileSize === 0) return "";
  return cString(image.read(f.backingFileOffset, f.backingFileSize, "Could not read backing file name"));
}

/** Where guest cluster 0 is mapped, from its L1 and L2 entries (qcow2.txt, "Cluster mapping"). */
export function firstCluster(image: ImageBytes, f: HeaderFields): Qcow2Header["firstCluster"] {
  if (f.l1Size === 0) return "unallocated";
  const l2Offset = tableEntry(image, f.l1TableOffset) & L1E_OFFSET_MASK;
  if (l2Offset === 0n) return "unallocated";
  const entry = tableEntry(image, Number(l2Offset));
  // Version 2 has no zero flag, and in a compressed entry that bit belongs to the compressed size.
  const zero = f.version >= 3 && (entry & QCOW_OFLAG_COMPRESSED) === 0n && (entry & QCOW_OFLAG_ZERO) !== 0n;
  if (zero) return "zero";
  return entry === 0n ? "unallocated" : "data";
}

function tableEntry(image: ImageBytes, offset: number): bigint {
  return image.read(offset, TABLE_ENTRY_SIZE).readBigUInt64BE(0);
}
