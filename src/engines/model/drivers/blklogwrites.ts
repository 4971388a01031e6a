/**
 * `blklogwrites` (block/blklogwrites.c): a filter over `file` that logs every write to `log` (a
 * metadata child) in dm-log-writes' format. It cannot be reopened. The model follows its options,
 * its check of an existing log (log-append), its graph and permissions, and reads (passed to
 * `file`); the logging of writes, zero writes, discards and flushes is beyond it, and each of them
 * is a ModelIoUnsupportedError (a flush logs an entry only after writes, which never happen here).
 */
import { bdrvDefaultPerms } from "../child-perms.js";
import { bdrvPreadv } from "../data/block-io.js";
import { IoError, ModelIoUnsupportedError, strerror } from "../data/io-error.js";
import type { BdsNode } from "../graph.js";
import { nodeLength } from "../node-length.js";
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

/** `blk_log_writes_find_cur_log_sector`: walk the entries to check their flags. */
function checkEntries(host: DriverHost, log: BdsNode, sectorSize: bigint, entries: bigint): void {
  let sector = 1n;
  for (let idx = 0n; idx < entries; idx++) {
    const entry = readLog(host, log, sector * sectorSize, ENTRY_SIZE, `Failed to read log entry ${idx}`);
    const flags = entry.readBigUInt64LE(16);
    if (flags & ~LOG_FLAG_MASK) fail(`Invalid flags 0x${flags.toString(16)} in log entry ${idx}`);
    // The entry's own sector, then its data (a discard has none).
    sector += 1n;
    if (!(flags & LOG_DISCARD_FLAG)) sector += entry.readBigUInt64LE(8);
  }
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
      if (sectorSizeValid(sectorSize)) checkEntries(ctx.host, log.bs, sectorSize, entries);
    } else {
      sectorSize = opts.uint("log-sector-size", BigInt(BDRV_SECTOR_SIZE));
    }
    // s->sectorsize is a uint32_t, but the check sees the full value.
    if (!sectorSizeValid(sectorSize)) fail(`Invalid log sector size ${sectorSize}`);
    const interval = opts.uint("log-super-update-interval", 4096n);
    if (interval === 0n) fail(`Invalid log superblock update interval ${interval}`);
    // bdrv_refresh_total_sectors → blk_log_writes_getlength: the file's length.
    ctx.node.size = nodeLength(file.bs);
    // blk_log_writes_refresh_limits: requests go by log sectors.
    ctx.node.alignment = Number(sectorSize);
  },

  /** `blk_log_writes_child_perm` → bdrv_default_perms: `file` passes through, `log` is metadata. */
  childPerm: bdrvDefaultPerms,

  /** `blk_log_writes_co_preadv`: the file's data. */
  preadv: FILTER_IO.preadv,

  /** `blk_log_writes_co_pdiscard` logs the discard in an entry of its own: not modelled. */
  pdiscard(_host, node) {
    throw new ModelIoUnsupportedError(`discards through a '${node.driver.name}' node (its log)`);
  },
};
