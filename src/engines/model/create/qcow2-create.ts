/**
 * qcow2's `qcow2_co_create` (block/qcow2.c) for blockdev-create: the options checked and given
 * their defaults in QEMU's order, then the image written on the `file` node through a
 * BlockBackend of its own (WRITE and RESIZE, everything shared), as qcow2_co_create leaves it once
 * it has opened it, allocated its metadata, given it its size and backing file: the same bytes as
 * `qemu-img create` for the same options (images/qcow2-create.ts lays them out).
 *
 * The model writes the image whose metadata one refcount block counts, without preallocation or
 * encryption, on `file` (and `data-file`) nodes of the file driver; anything else is
 * E_MODEL_UNSUPPORTED.
 */
import { Errno } from "../data/io-error.js";
import { BDRV_MAX_LENGTH } from "../data/request-flags.js";
import { bdrvTruncate } from "../data/truncate.js";
import type { BdsNode, Child } from "../graph.js";
import { DEFAULT_QCOW2_GEOMETRY, Qcow2LayoutUnsupported, qcow2Layout, type Qcow2Geometry } from "../images/qcow2-create.js";
import {
  AUTOCLEAR_DATA_FILE_RAW,
  COMPAT_LAZY_REFCOUNTS,
  H,
  INCOMPAT_DATA_FILE,
  INCOMPAT_EXTL2,
  MAX_BACKING_FILE_NAME,
  MAX_CLUSTER_BITS,
  MIN_CLUSTER_BITS,
  QCOW2_MAGIC,
  V3_HEADER_LENGTH,
} from "../images/qcow2-format.js";
import type { LayerState } from "../layer-state.js";
import { nodeLength } from "../node-length.js";
import { ModelUnsupportedError } from "../model-unsupported.js";
import { BLK_PERM_CONSISTENT_READ, BLK_PERM_RESIZE, BLK_PERM_WRITE } from "../perms.js";
import { createFail } from "./create-failure.js";
import { int64Of, uint64Of } from "./qapi-sizes.js";
import { openRef, requireFileDriver, withCreateBackend, writeLayoutOn } from "./create-on-node.js";

/** QCOW2_INCOMPAT_COMPRESSION. */
const INCOMPAT_COMPRESSION = 1n << 3n;
/** The header's compression_type for zstd (Qcow2CompressionType). */
const COMPRESSION_ZSTD = 1;
/** QCOW_EXTL2_SUBCLUSTERS_PER_CLUSTER. */
const SUBCLUSTERS_PER_CLUSTER = 32;

/** ctz32: trailing zeros of the low 32 bits (32 for none). */
function ctz32(n: number): number {
  const low = Number(BigInt.asUintN(32, BigInt(n)));
  if (low === 0) return 32;
  return 31 - Math.clz32(low & -low);
}

/** `validate_cluster_size`. */
function validateClusterSize(clusterSize: number, extendedL2: boolean): void {
  const bits = ctz32(clusterSize);
  if (bits < MIN_CLUSTER_BITS || bits > MAX_CLUSTER_BITS || 2 ** bits !== clusterSize) {
    createFail(`Cluster size must be a power of two between ${1 << MIN_CLUSTER_BITS} and ${1 << (MAX_CLUSTER_BITS - 10)}k`, Errno.EINVAL);
  }
  const min = (1 << MIN_CLUSTER_BITS) * SUBCLUSTERS_PER_CLUSTER;
  if (extendedL2 && clusterSize < min) createFail(`Extended L2 entries are only supported with cluster sizes of at least ${min} bytes`, Errno.EINVAL);
}

const V3_ONLY = "compatibility level 1.1 and above (use version=v3 or greater)";

export function qcow2Create(state: LayerState, opts: Record<string, unknown>): void {
  const bs = openRef(state, opts["file"]);
  if (uint64Of(opts["size"]) % 512n !== 0n) createFail("Image size must be a multiple of 512 bytes", Errno.EINVAL);
  // blk_truncate takes the size as an int64_t offset.
  const size = Number(int64Of(opts["size"]));
  const version = opts["version"] === "v2" ? 2 : 3;
  const clusterSize = opts["cluster-size"] === undefined ? 65536 : Number(opts["cluster-size"]);
  const extendedL2 = opts["extended-l2"] === true;
  if (extendedL2 && version < 3) createFail(`Extended L2 entries are only supported with ${V3_ONLY}`, Errno.EINVAL);
  validateClusterSize(clusterSize, extendedL2);
  let prealloc = (opts["preallocation"] as string | undefined) ?? "off";
  const backingFile = opts["backing-file"] as string | undefined;
  if (backingFile !== undefined && prealloc !== "off" && !extendedL2) {
    createFail("Backing file and preallocation can only be used at the same time if extended_l2 is on", Errno.EINVAL);
  }
  if (opts["backing-fmt"] !== undefined && backingFile === undefined) createFail("Backing format cannot be used without backing file", Errno.EINVAL);
  const lazyRefcounts = opts["lazy-refcounts"] === true;
  if (version < 3 && lazyRefcounts) createFail(`Lazy refcounts only supported with ${V3_ONLY}`, Errno.EINVAL);
  const refcountBits = opts["refcount-bits"] === undefined ? 16 : Number(opts["refcount-bits"]);
  if (refcountBits > 64 || refcountBits <= 0 || (refcountBits & (refcountBits - 1)) !== 0) {
    createFail("Refcount width must be a power of two and may not exceed 64 bits", Errno.EINVAL);
  }
  if (version < 3 && refcountBits !== 16) createFail("Different refcount widths than 16 bits require compatibility level 1.1 or above (use version=v3 or greater)", Errno.EINVAL);
  const dataFileRaw = opts["data-file-raw"] === true;
  if (dataFileRaw && opts["data-file"] === undefined) createFail("data-file-raw requires data-file", Errno.EINVAL);
  if (dataFileRaw && backingFile !== undefined) createFail("Backing file and data-file-raw cannot be used at the same time", Errno.EINVAL);
  // The L1 and L2 tables of a raw data file map it 1:1.
  if (dataFileRaw && prealloc === "off") prealloc = "metadata";
  let dataBs: BdsNode | undefined;
  if (opts["data-file"] !== undefined) {
    if (version < 3) createFail(`External data files are only supported with ${V3_ONLY}`, Errno.EINVAL);
    dataBs = openRef(state, opts["data-file"]);
  }
  let compressionType = 0;
  if (opts["compression-type"] !== undefined && opts["compression-type"] !== "zlib") {
    if (version < 3) createFail(`Non-zlib compression type is only supported with ${V3_ONLY}`, Errno.EINVAL);
    compressionType = COMPRESSION_ZSTD;
  }

  withCreateBackend(state, bs, (blk) => {
    if (prealloc !== "off" && (prealloc !== "metadata" || extendedL2)) {
      throw new ModelUnsupportedError(`blockdev-create of qcow2 with preallocation '${prealloc}'${prealloc === "metadata" ? " and extended L2 entries" : ""}`);
    }
    if (opts["encrypt"] !== undefined) throw new ModelUnsupportedError("blockdev-create of an encrypted qcow2 image");
    requireFileNode(bs, "file", blk.root);
    if (dataBs) requireFileNode(dataBs, "data-file", blk.root);
    if (dataBs && !state.aio.of(dataBs).isMain) throw new ModelUnsupportedError("blockdev-create of qcow2 with a data-file node in an iothread");
    if (backingFile === "") throw new ModelUnsupportedError("blockdev-create of qcow2 with an empty backing file name");
    const geometry: Qcow2Geometry = {
      ...DEFAULT_QCOW2_GEOMETRY,
      clusterBits: ctz32(clusterSize),
      version,
      refcountOrder: ctz32(refcountBits),
      incompatible: (compressionType ? INCOMPAT_COMPRESSION : 0n) | (extendedL2 ? INCOMPAT_EXTL2 : 0n),
      compatible: lazyRefcounts ? COMPAT_LAZY_REFCOUNTS : 0n,
      autoclear: dataFileRaw ? AUTOCLEAR_DATA_FILE_RAW : 0n,
      compressionType,
      extendedL2,
      preallocMetadata: prealloc === "metadata",
    };
    if (dataBs === bs) {
      sameFileAndDataFile(state, bs, geometry);
      return;
    }
    const resizeRefusal = truncateRefusal(size, geometry);
    if (resizeRefusal !== undefined) {
      // The image is made with no size, opened once as qcow2, and blk_truncate fails: the file
      // keeps the empty image (with the data file's name, which is set before the resize).
      writeLayoutOn(state, bs, qcow2Layout(0, { dataFile: dataBs?.exactFilename }, geometry));
      state.autoNames.next();
      createFail(`Could not resize image: ${resizeRefusal.message}`, resizeRefusal.errno);
    }
    // qcow2_change_backing_file refuses a name longer than the header takes, once the image is made.
    const backingRefused = backingFile !== undefined && Buffer.byteLength(backingFile) > MAX_BACKING_FILE_NAME;
    const backing = backingFile === undefined || backingRefused ? {} : { backingFile, backingFormat: opts["backing-fmt"] as string | undefined };
    let layout;
    try {
      layout = qcow2Layout(size, { ...backing, dataFile: dataBs?.exactFilename }, geometry);
    } catch (e) {
      if (e instanceof Qcow2LayoutUnsupported) throw new ModelUnsupportedError(`blockdev-create of ${e.message}`);
      throw e;
    }
    // The image is opened twice as qcow2 (blk_new_open), each node named as any unnamed node is.
    state.autoNames.next();
    state.autoNames.next();
    writeLayoutOn(state, bs, layout);
    // preallocate_co extends the file to the end of the last data cluster it allocated.
    if (layout.length > nodeLength(bs)) bdrvTruncate(state, bs, layout.length, false, "off", 0);
    if (dataBs && prealloc === "metadata") {
      // preallocate_co: the COW of the last cluster's tail writes zeros to the data file, which is
      // then grown to the image's end if it is shorter (never shrunk).
      if (layout.dataFileTail) writeLayoutOn(state, dataBs, { chunks: [layout.dataFileTail], length: 0 });
      if (nodeLength(dataBs) < size) bdrvTruncate(state, dataBs, size, false, "off", 0);
    } else if (dataBs) {
      // qcow2_co_truncate gives an external data file the image's size.
      bdrvTruncate(state, dataBs, size, false, "off", 0);
    }
    if (backingRefused) {
      const fmt = (opts["backing-fmt"] as string | undefined) ?? "(null)";
      createFail(`Could not assign backing file '${backingFile}' with format '${fmt}': Invalid argument`, Errno.EINVAL);
    }
  });
}

/** QCOW_MAX_L1_SIZE in entries. */
const QCOW_MAX_L1_ENTRIES = 0x2000000 / 8;

/**
 * Why blk_truncate refuses to give the new image `size`: bdrv_co_truncate's checks of the offset,
 * then qcow2_co_truncate's L1 table, which qcow2_grow_l1_table cannot make that large.
 */
function truncateRefusal(size: number, g: Qcow2Geometry): { message: string; errno: number } | undefined {
  if (size < 0) return { message: "Image size cannot be negative", errno: Errno.EINVAL };
  if (BigInt(size) > BigInt(BDRV_MAX_LENGTH)) return { message: `offset(${BigInt(size)}) exceeds maximum(${BigInt(BDRV_MAX_LENGTH)})`, errno: Errno.EIO };
  const l1Entries = Math.ceil(size / 2 ** (g.clusterBits * 2 - (g.extendedL2 ? 4 : 3)));
  if (l1Entries > QCOW_MAX_L1_ENTRIES) return { message: "Failed to grow the L1 table: File too large", errno: Errno.EFBIG };
  return undefined;
}

/**
 * `data-file` the same node as `file`: the minimal header (size 0, no L1 table, no extensions) and
 * the refcount table with its empty block are written, then the first qcow2 open over the node
 * fails, as its `file` child takes RESIZE, which its `data-file` child on the same node does not share.
 */
function sameFileAndDataFile(state: LayerState, bs: BdsNode, g: Qcow2Geometry): void {
  const cluster = 2 ** g.clusterBits;
  const header = Buffer.alloc(V3_HEADER_LENGTH);
  header.writeUInt32BE(QCOW2_MAGIC, H.magic);
  header.writeUInt32BE(g.version, H.version);
  header.writeUInt32BE(g.clusterBits, H.clusterBits);
  header.writeBigUInt64BE(BigInt(cluster), H.refcountTableOffset);
  header.writeUInt32BE(1, H.refcountTableClusters);
  header.writeBigUInt64BE(g.incompatible | BigInt(INCOMPAT_DATA_FILE), H.incompatibleFeatures);
  header.writeBigUInt64BE(g.compatible, H.compatibleFeatures);
  header.writeBigUInt64BE(g.autoclear, H.autoclearFeatures);
  header.writeUInt32BE(g.refcountOrder, H.refcountOrder);
  header.writeUInt32BE(V3_HEADER_LENGTH, H.headerLength);
  header.writeUInt8(g.compressionType, H.compressionType);
  const refcountTable = Buffer.alloc(8);
  refcountTable.writeBigUInt64BE(BigInt(2 * cluster));
  writeLayoutOn(state, bs, {
    chunks: [
      { offset: 0, bytes: header, zeros: cluster - header.length },
      { offset: cluster, bytes: refcountTable, zeros: 2 * cluster - refcountTable.length },
    ],
    length: 3 * cluster,
  });
  const qcow2Node = `node '${state.autoNames.next()}'`;
  createFail(
    `Permission conflict on node '${bs.name}': permissions 'resize' are both required by ${qcow2Node} (uses node '${bs.name}' as 'file' child) and unshared by ${qcow2Node} (uses node '${bs.name}' as 'data-file' child).`,
    Errno.EIO,
  );
}

/**
 * The nodes the model writes an image on: a file node that nothing else writes to or resizes, nor
 * keeps from being read (qcow2's own open over it would conflict with that, in words the model does
 * not make).
 */
function requireFileNode(bs: BdsNode, member: string, own: Child | null): void {
  requireFileDriver(bs, "qcow2", member);
  const busy = bs.parents.some((c) => c !== own && (c.perm & (BLK_PERM_WRITE | BLK_PERM_RESIZE) || !(c.shared & BLK_PERM_CONSISTENT_READ) || (member === "data-file" && (~c.shared & (BLK_PERM_WRITE | BLK_PERM_RESIZE)))));
  if (busy || (member === "data-file" && bs.readOnly)) throw new ModelUnsupportedError(`blockdev-create of qcow2 on a '${member}' node another parent uses`);
}
