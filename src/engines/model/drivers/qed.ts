/**
 * `qed` (block/qed.c): QEMU Enhanced Disk, a format with a `file` and a `backing` (COW) child. The
 * header names the backing file, and says "raw" for its format only with QED_F_BACKING_FORMAT_NO_PROBE
 * (any other format is probed). The model reads images (data, zero and unallocated clusters, through
 * to the backing file), writes them (qed-write.ts) and resizes them.
 */
import { bdrvDefaultPerms } from "../child-perms.js";
import { bdrvFlushQuietly, bdrvPreadv, bdrvPwritev } from "../data/block-io.js";
import { metadataRequest } from "../data/metadata-request.js";
import { Data } from "../data/data.js";
import { Errno, IoError, ioFail, ModelIoUnsupportedError } from "../data/io-error.js";
import { type BdsNode, childNamed, type Child } from "../graph.js";
import {
  parseQedHeader,
  QED_AUTOCLEAR_FEATURE_MASK,
  QED_COMPAT_FEATURE_MASK,
  QED_F_BACKING_FILE,
  QED_F_BACKING_FORMAT_NO_PROBE,
  QED_F_NEED_CHECK,
  QED_FEATURE_MASK,
  QED_HEADER_SIZE,
  QED_MAGIC,
  qedClusterSizeValid,
  qedImageSizeValid,
  qedTableSizeValid,
  serializeQedHeader,
} from "../images/qed-format.js";
import { nodeLength } from "../node-length.js";
import { OpaqueSlot } from "../opaque.js";
import { BLK_PERM_WRITE } from "../perms.js";
import { QemuAbort, qemuAssert } from "../qemu-would-crash.js";
import { fail, failErrno } from "../qmp-failure.js";
import { BDRV_CHILD_IMAGE } from "../roles.js";
import type { DriverDef, DriverHost } from "./driver.js";
import { qedBlockStatus, qedCheckTableOffset, qedPreadv, type QedTables, readQedTable } from "./qed-tables.js";
import { type QedNodes, qedNeedCheckTimer, qedWrite, type QedWriteState } from "./qed-write.js";

/** BDRVQEDState: the tables, and the process's services for the header writes hooks without a host make. */
interface QedState extends QedWriteState {
  host: DriverHost;
}

const slot = new OpaqueSlot<QedState>("qed");

/** sizeof(bs->backing_file): qed_read_string refuses a name that does not fit with its NUL. */
const PATH_MAX = 4096;
const UINT32_MAX = 0xffffffff;
const INT_MAX = 0x7fffffff;

/** The node and the children its requests use. */
function nodesOf(node: BdsNode): QedNodes {
  return { node, file: childNamed(node, "file")!, backing: childNamed(node, "backing")?.bs ?? null };
}

/** `bdrv_pread` of the file child; an I/O error fails the open with `message`. */
function readOrFail(host: DriverHost, file: BdsNode, offset: number, bytes: number, message: string): Buffer {
  try {
    return bdrvPreadv(host, file, offset, bytes).toBuffer();
  } catch (e) {
    if (e instanceof IoError) fail(message);
    throw e;
  }
}

/**
 * `qed_write_header_sync`: the 64-byte header through the file child; 0 or -errno. A read-only file
 * refuses it (-EPERM, bdrv_co_write_req_prepare); a writable file reached through an edge without
 * the write permission (a read-only qed node on a read-write file node) is QEMU's assertion.
 */
function writeHeaderSync(host: DriverHost, file: Child, t: QedTables): number {
  if (file.bs.readOnly) return -Errno.EPERM;
  if (!(file.perm & BLK_PERM_WRITE)) {
    qemuAssert({ file: "../../block/io.c", line: 1997, func: "bdrv_co_write_req_prepare" }, "child->perm & BLK_PERM_WRITE");
  }
  try {
    metadataRequest(() => bdrvPwritev(host, file.bs, 0, Data.bytes(serializeQedHeader(t.header))));
    return 0;
  } catch (e) {
    if (e instanceof IoError) return -e.errno;
    throw e;
  }
}

/** `bdrv_qed_do_open`, after the file child is open. Throws QmpFailure with QEMU's message. */
function qedDoOpen(host: DriverHost, node: BdsNode, file: Child): QedTables {
  const header = parseQedHeader(readOrFail(host, file.bs, 0, QED_HEADER_SIZE, "Failed to read QED header"));
  if (header.magic !== QED_MAGIC) fail("Image not in QED format");
  const unsupported = header.features & ~QED_FEATURE_MASK;
  if (unsupported !== 0n) fail(`Unsupported QED features: ${unsupported.toString(16)}`);
  if (!qedClusterSizeValid(header.clusterSize)) fail("QED cluster size is invalid");
  // Round the file size down to the last cluster.
  const fileSize = Math.floor(nodeLength(file.bs) / header.clusterSize) * header.clusterSize;
  const t: QedTables = { header, fileSize, l1: [], l2Cache: [] };
  if (!qedTableSizeValid(header.tableSize)) fail("QED table size is invalid");
  if (!qedImageSizeValid(header.imageSize, header.clusterSize, header.tableSize)) fail("QED image size is invalid");
  if (header.l1TableOffset > BigInt(Number.MAX_SAFE_INTEGER) || !qedCheckTableOffset(t, Number(header.l1TableOffset))) {
    fail("QED table offset is invalid");
  }
  if (header.headerSize > Math.floor(UINT32_MAX / header.clusterSize)) fail("QED header size is too large");

  if (header.features & QED_F_BACKING_FILE) {
    if (header.backingFilenameOffset + header.backingFilenameSize > header.clusterSize * header.headerSize) {
      fail("QED backing filename offset is invalid");
    }
    if (header.backingFilenameSize >= PATH_MAX) fail("Failed to read backing filename");
    const raw = readOrFail(host, file.bs, header.backingFilenameOffset, header.backingFilenameSize, "Failed to read backing filename");
    // A C string: it ends at the first NUL.
    const nul = raw.indexOf(0);
    const name = (nul < 0 ? raw : raw.subarray(0, nul)).toString("utf8");
    node.backingFile = name;
    node.autoBackingFile = name;
    if (header.features & QED_F_BACKING_FORMAT_NO_PROBE) node.backingFormat = "raw";
  }

  // Unknown autoclear bits are knocked out, as an older QEMU would.
  if ((header.autoclearFeatures & ~QED_AUTOCLEAR_FEATURE_MASK) !== 0n && !file.bs.readOnly) {
    header.autoclearFeatures &= QED_AUTOCLEAR_FEATURE_MASK;
    if (writeHeaderSync(host, file, t) !== 0) fail("Failed to update header");
  }

  t.l1 = readTableOrFail(host, file.bs, t);

  // An image not closed cleanly is checked (and marked clean) unless it cannot be written.
  if (header.features & QED_F_NEED_CHECK && !file.bs.readOnly) {
    // qed_check walks every L2 table; the model only follows an image that has none.
    if (t.l1.some((e) => e !== 0)) throw new ModelIoUnsupportedError("the consistency check of a qed image with allocated tables");
    header.features &= ~QED_F_NEED_CHECK;
    writeHeaderSync(host, file, t);
  }
  // Otherwise the need-check timer starts, and fires at the first drain, which every open reaches
  // (blockdev-add, a backing file opened from a header): the flag is cleared in memory and the
  // header write fails on the read-only file.
  header.features &= ~QED_F_NEED_CHECK;
  return t;
}

/** `qed_read_l1_table_sync`. */
function readTableOrFail(host: DriverHost, file: BdsNode, t: QedTables): number[] {
  try {
    return readQedTable(host, file, t, Number(t.header.l1TableOffset));
  } catch (e) {
    if (e instanceof IoError) fail("Failed to read L1 table");
    throw e;
  }
}

/**
 * The events qed.c sends its file (the table events of qed-table.c, l1_update, l2_load and
 * l2_update, are not followed): before a data read, a backing file read, a copy-on-write and the
 * guest data's write.
 */
const QED_BLKDEBUG_EVENTS = ["read_aio", "read_backing_aio", "cow_write", "write_aio"];

export const qedDriver: DriverDef = {
  name: "qed",
  blkdebugEvents: QED_BLKDEBUG_EVENTS,
  // bdrv_qed_co_drain_begin: a pending need-check timer is run at once.
  coDrainBegin: true,
  protocol: false,
  isFilter: false,
  supportsBacking: true,
  /** bdrv_has_zero_init_1. */
  hasZeroInit: () => true,
  mutableOpts: [],

  /** `bdrv_qed_probe`: the magic. */
  probe: (buf) => (buf.length >= QED_HEADER_SIZE && buf.readUInt32LE(0) === QED_MAGIC ? 100 : 0),

  open(ctx) {
    const file = ctx.openChild("file", BDRV_CHILD_IMAGE, false)!;
    const t = qedDoOpen(ctx.host, ctx.node, file);
    slot.set(ctx.node, { ...t, needCheckTimer: false, host: ctx.host });
    // bdrv_qed_getlength: the header's image size (whole sectors, checked above).
    ctx.node.size = Number(t.header.imageSize);
  },

  childPerm: bdrvDefaultPerms,

  /**
   * A move runs `bdrv_qed_detach_aio_context` first, which deletes the need-check timer. The timer
   * is made only once bdrv_qed_do_open has read the header: a node moved before that (its attach
   * to a file pinned in an iothread took it there) has none, and timer_del(NULL) segfaults.
   */
  attachAioContext(node) {
    if (node.opaque?.slot !== slot) throw new QemuAbort("SIGSEGV", "bdrv_qed_detach_aio_context: the qed node is moved to another AioContext before its open made the need-check timer");
  },

  /** `bdrv_qed_co_drain_begin`: a pending need-check timer runs at once. */
  drainBegin(node) {
    const t = node.opaque?.slot === slot ? slot.get(node) : undefined;
    if (t?.needCheckTimer) qedNeedCheckTimer(t.host, nodesOf(node), t);
  },

  /** `bdrv_qed_close`: the timer goes, the file is flushed, and a need-check flag still set is cleared on disk. */
  close(node, host) {
    const t = slot.get(node);
    t.needCheckTimer = false;
    const file = childNamed(node, "file")!;
    bdrvFlushQuietly(host, file.bs);
    if (t.header.features & QED_F_NEED_CHECK) {
      t.header.features &= ~QED_F_NEED_CHECK;
      writeHeaderSync(host, file, t);
    }
  },

  /** `bdrv_qed_reopen_prepare`: nothing to check, every reopen is accepted. */
  reopenPrepare() {},

  /** `bdrv_qed_get_info`. */
  getInfo(node) {
    const h = slot.get(node).header;
    return { info: { clusterSize: h.clusterSize, isDirty: (h.features & QED_F_NEED_CHECK) !== 0n } };
  },

  /**
   * `bdrv_qed_change_backing_file`: the header and the new name are written again from offset 0;
   * the name must fit in the header clusters.
   */
  changeBackingFile(node, backingFile, backingFormat) {
    const t = slot.get(node);
    if (backingFile !== null && (t.header.compatFeatures & ~QED_COMPAT_FEATURE_MASK) !== 0n) return -Errno.ENOTSUP;
    const name = Buffer.from(backingFile ?? "", "utf8");
    let features = t.header.features & ~(QED_F_BACKING_FILE | QED_F_BACKING_FORMAT_NO_PROBE);
    if (backingFile !== null) {
      features |= QED_F_BACKING_FILE;
      if (backingFormat === "raw") features |= QED_F_BACKING_FORMAT_NO_PROBE;
    }
    const header = { ...t.header, features, backingFilenameOffset: QED_HEADER_SIZE, backingFilenameSize: name.length };
    if (QED_HEADER_SIZE + name.length > header.headerSize * header.clusterSize) return -Errno.ENOSPC;
    const file = childNamed(node, "file")!;
    try {
      metadataRequest(() => bdrvPwritev(t.host, file.bs, 0, Data.bytes(Buffer.concat([serializeQedHeader(header), name]))));
    } catch (e) {
      if (e instanceof IoError) return -e.errno;
      throw e;
    }
    t.header = header;
    node.backingFile = backingFile ?? "";
    node.autoBackingFile = backingFile ?? "";
    node.backingFormat = backingFormat ?? "";
    return 0;
  },

  /** `bdrv_qed_refresh_limits`, and the 512-byte alignment of a driver with `.bdrv_co_readv`. */
  ioLimits(node) {
    const cs = slot.get(node).header.clusterSize;
    return { requestAlignment: 512, pwriteZeroesAlignment: cs, maxPwriteZeroes: Math.floor(INT_MAX / cs) * cs };
  },

  /** `bdrv_qed_co_writev`. */
  pwritev(host, node, offset, data) {
    qedWrite(host, nodesOf(node), slot.get(node), offset, data.length, data);
  },

  /** `bdrv_qed_co_pwrite_zeroes`: whole clusters only; anything else falls back to writing zeros. */
  pwriteZeroes(host, node, offset, bytes) {
    const t = slot.get(node);
    if (offset % t.header.clusterSize !== 0 || bytes % t.header.clusterSize !== 0) ioFail(Errno.ENOTSUP);
    qedWrite(host, nodesOf(node), t, offset, bytes, null);
  },

  /** `bdrv_qed_co_readv`. */
  preadv(host, node, offset, bytes) {
    return qedPreadv(host, childNamed(node, "file")!.bs, childNamed(node, "backing")?.bs ?? null, slot.get(node), offset, bytes);
  },

  /** `bdrv_qed_co_block_status`. */
  blockStatus(host, node, _wantZero, offset, bytes) {
    return qedBlockStatus(host, childNamed(node, "file")!.bs, slot.get(node), offset, bytes);
  },

  /** `bdrv_qed_co_truncate`: grows only, without preallocation, within what the tables cover. */
  truncate(host, node, offset, _exact, prealloc) {
    const t = slot.get(node);
    if (prealloc !== "off") failErrno(`Unsupported preallocation mode '${prealloc}'`, Errno.ENOTSUP);
    if (!qedImageSizeValid(BigInt(offset), t.header.clusterSize, t.header.tableSize)) failErrno("Invalid image size specified", Errno.EINVAL);
    if (BigInt(offset) < t.header.imageSize) failErrno("Shrinking images is currently not supported", Errno.ENOTSUP);
    const old = t.header.imageSize;
    t.header.imageSize = BigInt(offset);
    const ret = writeHeaderSync(host, childNamed(node, "file")!, t);
    if (ret < 0) {
      t.header.imageSize = old;
      failErrno(`Failed to update the image size: ${new IoError(-ret).message}`, -ret);
    }
    node.size = offset;
  },
};
