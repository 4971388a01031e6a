/**
 * `qcow` (block/qcow.c): the version 1 format, with a `file` and a `backing` (COW) child. The header
 * names the backing file but never its format (it is probed). The model reads images (allocated and
 * unallocated clusters, through to the backing file; compressed ones inflated) and writes them
 * (qcow-write.ts); AES-encrypted images are not modelled and fail as such, never with an invented
 * answer.
 */
import { bdrvDefaultPerms } from "../child-perms.js";
import { bdrvPreadv } from "../data/block-io.js";
import { IoError, ModelIoUnsupportedError } from "../data/io-error.js";
import { type BdsNode, childNamed } from "../graph.js";
import { parseQcowHeader, QCOW_CRYPT_AES, QCOW_HEADER_SIZE, QCOW_MAGIC, QCOW_VERSION } from "../images/qcow-format.js";
import { OpaqueSlot } from "../opaque.js";
import { fail } from "../qmp-failure.js";
import { BDRV_CHILD_IMAGE } from "../roles.js";
import type { DriverDef, DriverHost } from "./driver.js";
import { qcowPwritev, qcowPwritevCompressed } from "./qcow-write.js";
import { qcowBlockStatus, qcowPreadv, type QcowTables } from "./qcow-tables.js";

const slot = new OpaqueSlot<QcowTables>("qcow");

const UINT64_MAX = (1n << 64n) - 1n;
const INT_MAX = 2 ** 31 - 1;

/**
 * `bdrv_pread` of the file child. qcow_open fails without a message of its own when a read fails
 * (bdrv_open_driver then words it from the node's filename); the model does not follow that.
 */
function pread(host: DriverHost, file: BdsNode, offset: number, bytes: number): Buffer {
  try {
    return bdrvPreadv(host, file, offset, bytes).toBuffer();
  } catch (e) {
    if (e instanceof IoError) throw new ModelIoUnsupportedError(`a qcow open whose read fails (${e.message})`);
    throw e;
  }
}

/** `qcow_open` after the file child is open: header checks, the L1 table, the backing file name. */
function qcowDoOpen(host: DriverHost, node: BdsNode, file: BdsNode, encryptFormat: string | undefined): QcowTables {
  const h = parseQcowHeader(pread(host, file, 0, QCOW_HEADER_SIZE));
  if (h.magic !== QCOW_MAGIC) fail("Image not in qcow format");
  if (h.version !== QCOW_VERSION) fail(`qcow (v${QCOW_VERSION}) does not support qcow version ${h.version}`);
  if (h.size <= 1n) fail("Image size is too small (must be at least 2 bytes)");
  if (h.clusterBits < 9 || h.clusterBits > 16) fail("Cluster size must be between 512 and 64k");
  // l2_bits counts 8-byte entries.
  if (h.l2Bits < 9 - 3 || h.l2Bits > 16 - 3) fail("L2 table size must be between 512 and 64k");
  if (h.cryptMethod !== 0) {
    if (h.cryptMethod !== QCOW_CRYPT_AES) fail("invalid encryption method in qcow header");
    if (encryptFormat !== undefined && encryptFormat !== "aes") {
      fail(`Header reported 'aes' encryption format but options specify '${encryptFormat}'`);
    }
    throw new ModelIoUnsupportedError("AES-encrypted qcow images");
  } else if (encryptFormat !== undefined) {
    fail(`No encryption in image header, but options specified format '${encryptFormat}'`);
  }
  // bs->total_sectors = header.size / 512.
  node.size = Number(h.size / 512n) * 512;
  const shift = BigInt(h.clusterBits + h.l2Bits);
  if (h.size > UINT64_MAX - (1n << shift)) fail("Image too large");
  const l1Size = (h.size + (1n << shift) - 1n) >> shift;
  if (l1Size > BigInt(Math.floor(INT_MAX / 8))) fail("Image too large");
  if (h.l1TableOffset > BigInt(Number.MAX_SAFE_INTEGER)) throw new ModelIoUnsupportedError("a qcow L1 table beyond 2^53");
  const raw = pread(host, file, Number(h.l1TableOffset), Number(l1Size) * 8);
  const l1 = Array.from({ length: Number(l1Size) }, (_, i) => raw.readBigUInt64BE(i * 8));

  if (h.backingFileOffset !== 0n) {
    if (h.backingFileSize > 1023) fail("Backing file name too long");
    if (h.backingFileOffset > BigInt(Number.MAX_SAFE_INTEGER)) throw new ModelIoUnsupportedError("a qcow backing file name beyond 2^53");
    const name = pread(host, file, Number(h.backingFileOffset), h.backingFileSize);
    // A C string: it ends at the first NUL.
    const nul = name.indexOf(0);
    node.autoBackingFile = (nul < 0 ? name : name.subarray(0, nul)).toString("utf8");
    node.backingFile = node.autoBackingFile;
  }
  return { clusterBits: h.clusterBits, l2Bits: h.l2Bits, l1, l1TableOffset: Number(h.l1TableOffset), clusterCache: null };
}

export const qcowDriver: DriverDef = {
  name: "qcow",
  protocol: false,
  isFilter: false,
  supportsBacking: true,
  /** bdrv_has_zero_init_1. */
  hasZeroInit: () => true,
  /** Has `.bdrv_co_pwritev_compressed`. */
  canCompress: true,
  mutableOpts: [],
  strongOpts: ["encrypt.key-secret"],

  /** `qcow_probe`: the magic and version 1. */
  probe: (buf) => (buf.length >= QCOW_HEADER_SIZE && buf.readUInt32BE(0) === QCOW_MAGIC && buf.readUInt32BE(4) === QCOW_VERSION ? 100 : 0),

  open(ctx) {
    const format = ctx.options["encrypt.format"];
    const file = ctx.openChild("file", BDRV_CHILD_IMAGE, false)!;
    slot.set(ctx.node, qcowDoOpen(ctx.host, ctx.node, file.bs, typeof format === "string" ? format : undefined));
  },

  childPerm: bdrvDefaultPerms,

  /** `qcow_reopen_prepare`: nothing to check, every reopen is accepted. */
  reopenPrepare() {},

  /** `qcow_get_info`. */
  getInfo(node) {
    return { info: { clusterSize: 2 ** slot.get(node).clusterBits, isDirty: false } };
  },

  /** `qcow_refresh_limits`: 512-byte requests, encrypted or not. */
  ioLimits: () => ({ requestAlignment: 512 }),

  /** `qcow_co_preadv`. */
  preadv(host, node, offset, bytes) {
    return qcowPreadv(host, childNamed(node, "file")!.bs, childNamed(node, "backing")?.bs ?? null, slot.get(node), offset, bytes);
  },

  /** `qcow_co_pwritev`. */
  pwritev(host, node, offset, data) {
    qcowPwritev(host, childNamed(node, "file")!, slot.get(node), offset, data);
  },

  /** `qcow_co_pwritev_compressed`. */
  pwritevCompressed(host, node, offset, data) {
    qcowPwritevCompressed(host, childNamed(node, "file")!, slot.get(node), node.size, offset, data);
  },

  /** `qcow_co_block_status`. */
  blockStatus(host, node, _wantZero, offset, bytes) {
    return qcowBlockStatus(host, childNamed(node, "file")!.bs, slot.get(node), offset, bytes);
  },
};
