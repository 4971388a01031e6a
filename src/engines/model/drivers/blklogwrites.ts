/**
 * `blklogwrites` (block/blklogwrites.c): a filter over `file` that logs every write to `log` (a
 * metadata child) in dm-log-writes' format. It cannot be reopened. The model follows its options,
 * its check of an existing log (log-append), its graph and permissions, reads (passed to `file`),
 * and the log: each write, zero write, discard and flush to disk goes to `file` and then appends an
 * entry to the log, and a flush (or every log-super-update-interval entries) rewrites the
 * superblock. A flush reaches the driver only when something was written since the last one, so a
 * node that was only resized logs a flush when it closes: its log file's first sector becomes a
 * superblock, whatever it held before.
 */
import { bdrvDefaultPerms } from "../child-perms.js";
import { bdrvFlush, bdrvPdiscard, bdrvPreadv, bdrvPwritev, bdrvPwriteZeroes } from "../data/block-io.js";
import { Data } from "../data/data.js";
import { catchIoError, IoError, strerror } from "../data/io-error.js";
import { filteredChild, type BdsNode, type Child } from "../graph.js";
import { nodeLength } from "../node-length.js";
import { OpaqueSlot } from "../opaque.js";
import { QemuAbort } from "../qemu-would-crash.js";
import { fail } from "../qmp-failure.js";
import { BDRV_CHILD_FILTERED, BDRV_CHILD_METADATA, BDRV_CHILD_PRIMARY } from "../roles.js";
import type { DriverDef, DriverHost } from "./driver.js";
import { FILTER_IO } from "./filter.js";
import { absorbQemuOpts } from "./qemu-opts.js";

const WRITE_LOG_MAGIC = 0x6a736677736872n;
const WRITE_LOG_VERSION = 1n;
/** struct log_write_super and struct log_write_entry: both 28 and 32 bytes, little-endian. */
const SUPER_SIZE = 28;
const ENTRY_SIZE = 32;
const LOG_FLUSH_FLAG = 1n << 0n;
const LOG_DISCARD_FLAG = 1n << 2n;
const LOG_FLAG_MASK = 0b1111n;
const BDRV_SECTOR_SIZE = 512;

/** `blk_log_writes_sector_size_valid`. */
function sectorSizeValid(size: bigint): boolean {
  return size > 0n && (size & (size - 1n)) === 0n && size >= BigInt(SUPER_SIZE) && size >= BigInt(ENTRY_SIZE) && size < 1n << 24n;
}

/** `bdrv_pread` of the log: the bytes, or the message QEMU builds from the errno. */
function readLog(host: DriverHost, log: BdsNode, offset: bigint, bytes: number, what: string): Buffer {
  try {
    return bdrvPreadv(host, log, Number(offset), bytes).toBuffer();
  } catch (e) {
    if (e instanceof IoError) fail(`${what}: ${strerror(e.errno)}`);
    throw e;
  }
}

/** BDRVBlkLogWritesState. */
interface LogState {
  log: Child;
  sectorSize: number;
  /** Where the next entry goes, in log sectors. */
  curLogSector: bigint;
  nrEntries: bigint;
  updateInterval: bigint;
}

const STATE = new OpaqueSlot<LogState>("blklogwrites");

/** `blk_log_writes_find_cur_log_sector`: walk the entries to check their flags; the sector after them. */
function checkEntries(host: DriverHost, log: BdsNode, sectorSize: bigint, entries: bigint): bigint {
  let sector = 1n;
  for (let idx = 0n; idx < entries; idx++) {
    const entry = readLog(host, log, sector * sectorSize, ENTRY_SIZE, `Failed to read log entry ${idx}`);
    const flags = entry.readBigUInt64LE(16);
    if (flags & ~LOG_FLAG_MASK) fail(`Invalid flags 0x${flags.toString(16)} in log entry ${idx}`);
    // The entry's own sector, then its data (a discard has none).
    sector += 1n;
    if (!(flags & LOG_DISCARD_FLAG)) sector += entry.readBigUInt64LE(8);
  }
  return sector;
}

/**
 * `blk_log_writes_co_do_log`: the entry (padded to a log sector) and the written data go to the
 * next free log sectors, zeros after it for a zero write, and the superblock is rewritten and the
 * log flushed on a flush entry or every update interval. Returns the log's `-errno` or 0.
 */
function appendEntry(host: DriverHost, s: LogState, entry: Buffer, payload: Data, zeroSize: number, flags: bigint): number {
  const size = BigInt(s.sectorSize);
  const record = Data.concat([Data.bytes(entry), Data.zeros(s.sectorSize - ENTRY_SIZE), payload]);
  let offset = s.curLogSector * size;
  s.nrEntries++;
  s.curLogSector += (BigInt(record.length) + size - 1n) / size;
  let logRet = catchIoError(() => bdrvPwritev(host, s.log.bs, Number(offset), record, 0, s.log));
  if (logRet === 0 && zeroSize > 0) {
    offset = s.curLogSector * size;
    s.curLogSector += (BigInt(zeroSize) + size - 1n) / size;
    logRet = catchIoError(() => bdrvPwriteZeroes(host, s.log.bs, Number(offset), zeroSize, 0, s.log));
  }
  if (logRet === 0 && (flags & LOG_FLUSH_FLAG || s.nrEntries % s.updateInterval === 0n)) {
    const sb = Buffer.alloc(SUPER_SIZE);
    sb.writeBigUInt64LE(WRITE_LOG_MAGIC, 0);
    sb.writeBigUInt64LE(WRITE_LOG_VERSION, 8);
    sb.writeBigUInt64LE(s.nrEntries, 16);
    sb.writeUInt32LE(s.sectorSize, 24);
    logRet = catchIoError(() => bdrvPwritev(host, s.log.bs, 0, Data.concat([Data.bytes(sb), Data.zeros(s.sectorSize - SUPER_SIZE)]), 0, s.log));
    if (logRet === 0) logRet = catchIoError(() => bdrvFlush(host, s.log.bs));
  }
  return logRet;
}

/**
 * `blk_log_writes_co_log`: the request on `file` first, then its entry in the log, whatever the
 * file answered; a failed log write is the request's failure before the file's.
 */
function logged(host: DriverHost, node: BdsNode, offset: number, bytes: number, payload: Data, flags: bigint, zeroWrite: boolean, onFile: (file: Child) => void): void {
  const s = STATE.get(node);
  // Writes come aligned to the node's request alignment (the log sector), but bdrv_co_pdiscard
  // hands a discard's unaligned head and tail down in pieces of their own. Lines as in 7.2.22.
  if (offset % s.sectorSize) throw new QemuAbort("SIGABRT", "../../block/blklogwrites.c:424: blk_log_writes_co_log: Assertion `QEMU_IS_ALIGNED(offset, bs->bl.request_alignment)' failed.");
  if (bytes % s.sectorSize) throw new QemuAbort("SIGABRT", "../../block/blklogwrites.c:425: blk_log_writes_co_log: Assertion `QEMU_IS_ALIGNED(bytes, bs->bl.request_alignment)' failed.");
  const bits = BigInt(Math.log2(s.sectorSize));
  const entry = Buffer.alloc(ENTRY_SIZE);
  entry.writeBigUInt64LE(BigInt(offset) >> bits, 0);
  entry.writeBigUInt64LE(BigInt(bytes) >> bits, 8);
  entry.writeBigUInt64LE(flags, 16);
  const fileRet = catchIoError(() => onFile(filteredChild(node)!));
  const logRet = appendEntry(host, s, entry, payload, zeroWrite ? bytes : 0, flags);
  if (logRet < 0) throw new IoError(-logRet);
  if (fileRet < 0) throw new IoError(-fileRet);
}

export const blklogwritesDriver: DriverDef = {
  name: "blklogwrites",
  protocol: false,
  isFilter: true,
  supportsBacking: false,
  mutableOpts: [],
  strongOpts: ["log-append", "log-sector-size"],

  /** `blk_log_writes_open`: options, `file`, `log`, then the log's superblock and settings. */
  open(ctx) {
    const opts = absorbQemuOpts({ ...ctx.options }, { "log-append": "bool", "log-sector-size": "size", "log-super-update-interval": "number" });
    const file = ctx.openChild("file", BDRV_CHILD_FILTERED | BDRV_CHILD_PRIMARY, false)!;
    const log = ctx.openChild("log", BDRV_CHILD_METADATA, false)!;
    let sectorSize: bigint;
    let curLogSector = 1n;
    let nrEntries = 0n;
    if (opts.bool("log-append", false)) {
      if (opts.has("log-sector-size")) fail("log-append and log-sector-size are mutually exclusive");
      // An empty log gets a fresh superblock; otherwise the log's own is read.
      let magic = WRITE_LOG_MAGIC;
      let version = WRITE_LOG_VERSION;
      let entries = 0n;
      sectorSize = BigInt(BDRV_SECTOR_SIZE);
      if (nodeLength(log.bs) !== 0) {
        const sb = readLog(ctx.host, log.bs, 0n, SUPER_SIZE, "Could not read log superblock");
        magic = sb.readBigUInt64LE(0);
        version = sb.readBigUInt64LE(8);
        entries = sb.readBigUInt64LE(16);
        sectorSize = BigInt(sb.readUInt32LE(24));
      }
      if (magic !== WRITE_LOG_MAGIC) fail("Invalid log superblock magic");
      if (version !== WRITE_LOG_VERSION) fail(`Unsupported log version ${version}`);
      if (sectorSizeValid(sectorSize)) {
        curLogSector = checkEntries(ctx.host, log.bs, sectorSize, entries);
        nrEntries = entries;
      }
    } else {
      sectorSize = opts.uint("log-sector-size", BigInt(BDRV_SECTOR_SIZE));
    }
    // s->sectorsize is a uint32_t, but the check sees the full value.
    if (!sectorSizeValid(sectorSize)) fail(`Invalid log sector size ${sectorSize}`);
    const interval = opts.uint("log-super-update-interval", 4096n);
    if (interval === 0n) fail(`Invalid log superblock update interval ${interval}`);
    STATE.set(ctx.node, { log, sectorSize: Number(sectorSize), curLogSector, nrEntries, updateInterval: interval });
    // bdrv_refresh_total_sectors → blk_log_writes_getlength: the file's length.
    ctx.node.size = nodeLength(file.bs);
    // blk_log_writes_refresh_limits: requests go by log sectors.
    ctx.node.alignment = Number(sectorSize);
  },

  /** `blk_log_writes_child_perm` → bdrv_default_perms: `file` passes through, `log` is metadata. */
  childPerm: bdrvDefaultPerms,

  /** `blk_log_writes_co_preadv`: the file's data. */
  preadv: FILTER_IO.preadv,

  /** `blk_log_writes_co_pwritev`: the entry carries the data. */
  pwritev(host, node, offset, data, flags) {
    logged(host, node, offset, data.length, data, 0n, false, (file) => bdrvPwritev(host, file.bs, offset, data, flags, file));
  },

  /** `blk_log_writes_co_pwrite_zeroes`: zeros after the entry, as many as were written. */
  pwriteZeroes(host, node, offset, bytes, flags) {
    logged(host, node, offset, bytes, Data.EMPTY, 0n, true, (file) => bdrvPwriteZeroes(host, file.bs, offset, bytes, flags, file));
  },

  /** `blk_log_writes_co_pdiscard`: an entry with no data. */
  pdiscard(host, node, offset, bytes) {
    logged(host, node, offset, bytes, Data.EMPTY, LOG_DISCARD_FLAG, false, (file) => bdrvPdiscard(host, file.bs, offset, bytes));
  },

  /** `blk_log_writes_co_flush_to_disk`: the file flushed, then a flush entry and the superblock. */
  flushToDisk(host, node) {
    logged(host, node, 0, 0, Data.EMPTY, LOG_FLUSH_FLAG, false, (file) => bdrvFlush(host, file.bs));
  },
};
