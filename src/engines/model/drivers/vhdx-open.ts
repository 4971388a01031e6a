/**
 * `vhdx_open`'s parsing (block/vhdx.c, vhdx-log.c): the file signature, the current header, the log
 * (an image whose log needs replaying is beyond the model), the region tables, the metadata and the
 * BAT with its checks. vhdx_open fails with a bare -errno for most of them, which bdrv_open_driver
 * reports as "Could not open '<file>': <strerror>"; the header has its own message.
 */
import { Errno, ModelIoUnsupportedError, strerror } from "../data/io-error.js";
import type { BdsNode } from "../graph.js";
import { nodeLength } from "../node-length.js";
import { fail } from "../qmp-failure.js";
import {
  BAT_GUID,
  batGeometry,
  checksumIsValid,
  FILE_PARAM_GUID,
  HDR,
  LOGICAL_SECTOR_GUID,
  METADATA_GUID,
  PAGE83_GUID,
  PARENT_LOCATOR_GUID,
  PAYLOAD_BLOCK_FULLY_PRESENT,
  PHYS_SECTOR_GUID,
  VHDX_BAT_FILE_OFF_MASK,
  VHDX_BAT_STATE_BIT_MASK,
  VHDX_BLOCK_SIZE_MAX,
  VHDX_BLOCK_SIZE_MIN,
  VHDX_HEADER_BLOCK_SIZE,
  VHDX_HEADER_SIGNATURE,
  VHDX_HEADER_SIZE,
  VHDX_HEADER1_OFFSET,
  VHDX_HEADER2_OFFSET,
  VHDX_LOG_MIN_SIZE,
  VHDX_META_FLAGS_IS_REQUIRED,
  VHDX_METADATA_TABLE_MAX_SIZE,
  VHDX_PARAMS_HAS_PARENT,
  VHDX_REGION_ENTRY_REQUIRED,
  VHDX_REGION_SIGNATURE,
  VHDX_REGION_TABLE_OFFSET,
  VIRTUAL_SIZE_GUID,
} from "../images/vhdx-format.js";
import type { DriverHost } from "./driver.js";
import { failOpen, preadOrErrno, readMetadata } from "./vdi-vpc-vhdx-read.js";

/** What the model keeps of BDRVVHDXState. */
export interface VhdxImage {
  virtualSize: bigint;
  blockSize: number;
  sectorsPerBlock: number;
  chunkRatioBits: number;
  /** s->bat as read: bat_entries little-endian uint64 entries (and the rest of the region). */
  bat: Buffer;
  batEntries: number;
}

/** The error vhdx_open returns bare (no message of its own). */
class OpenErrno extends Error {
  constructor(readonly errno: number) {
    super(`errno ${errno}`);
  }
}
const bail = (errno: number): never => {
  throw new OpenErrno(errno);
};

/** One registered region (s->regions), [start, end). */
type Region = { start: bigint; end: bigint };

/** `vhdx_region_check`: no overlap with any registered region. */
function checkRegion(regions: Region[], start: bigint, length: bigint): void {
  const end = start + length;
  // QEMU also prints "VHDX region … overlaps with region …" on its stderr.
  if (regions.some((r) => !(start >= r.end || end <= r.start))) bail(Errno.EINVAL);
}

export class VhdxOpener {
  private readonly regions: Region[] = [];

  constructor(
    private readonly host: DriverHost,
    private readonly file: BdsNode,
  ) {}

  /** `vhdx_open` from the signature to the BAT check. Throws QmpFailure. */
  open(): VhdxImage {
    try {
      return this.parse();
    } catch (e) {
      if (e instanceof OpenErrno) return failOpen(this.file, e.errno);
      throw e;
    }
  }

  private read(offset: number | bigint, bytes: number): Buffer {
    return readMetadata(this.host, this.file, offset, bytes);
  }

  private parse(): VhdxImage {
    if (this.read(0, 8).toString("latin1") !== "vhdxfile") bail(Errno.EINVAL);
    const header = this.parseHeader();
    this.parseLog(header);
    const { bat, metadata } = this.openRegionTables();
    const md = this.parseMetadata(metadata);
    const g = batGeometry(Number(md.virtualSize), md.blockSize);
    if (g.batEntries > Math.floor(Number(bat.length) / 8)) bail(Errno.EINVAL);
    const table = this.read(bat.offset, Number(bat.length));
    const image: VhdxImage = { virtualSize: md.virtualSize, blockSize: md.blockSize, sectorsPerBlock: g.sectorsPerBlock, chunkRatioBits: g.chunkRatioBits, bat: table, batEntries: g.batEntries };
    this.checkBatEntries(image, g.chunkRatio);
    return image;
  }

  /** `vhdx_parse_header`: the valid header with the higher sequence number. */
  private parseHeader(): Buffer {
    const headers: (Buffer | null)[] = [];
    for (const at of [VHDX_HEADER1_OFFSET, VHDX_HEADER2_OFFSET]) {
      const buf = preadOrErrno(this.host, this.file, at, VHDX_HEADER_SIZE);
      // error_setg_errno(errp, -ret, …): a failed read's errno follows the message.
      if (typeof buf === "number") return fail(`No valid VHDX header found: ${strerror(buf)}`);
      const valid = checksumIsValid(buf, HDR.checksum) && buf.readUInt32LE(HDR.signature) === VHDX_HEADER_SIGNATURE && buf.readUInt16LE(HDR.version) === 1;
      headers.push(valid ? buf : null);
    }
    const [h1, h2] = headers;
    let current: Buffer;
    if (h1 && !h2) current = h1;
    else if (!h1 && h2) current = h2;
    else if (!h1 || !h2) return fail("No valid VHDX header found");
    else {
      const [s1, s2] = [h1.readBigUInt64LE(HDR.sequenceNumber), h2.readBigUInt64LE(HDR.sequenceNumber)];
      // Equal sequence numbers are only accepted for identical headers (Disk2VHD writes those).
      if (s1 === s2 && !h1.subarray(0, 80).equals(h2.subarray(0, 80))) return fail("No valid VHDX header found");
      current = s2 > s1 ? h2 : h1;
    }
    this.regions.push({ start: current.readBigUInt64LE(HDR.logOffset), end: current.readBigUInt64LE(HDR.logOffset) + BigInt(current.readUInt32LE(HDR.logLength)) });
    return current;
  }

  /** `vhdx_parse_log`: a log to replay is not modelled. */
  private parseLog(h: Buffer): void {
    const offset = h.readBigUInt64LE(HDR.logOffset);
    const length = h.readUInt32LE(HDR.logLength);
    if (offset < BigInt(VHDX_LOG_MIN_SIZE) || offset % BigInt(VHDX_LOG_MIN_SIZE) !== 0n) bail(Errno.EINVAL);
    if (h.readUInt16LE(HDR.logVersion) !== 0) bail(Errno.EINVAL);
    if (h.subarray(HDR.logGuid, HDR.logGuid + 16).every((b) => b === 0)) return;
    if (length === 0) return;
    if (length % VHDX_LOG_MIN_SIZE !== 0) bail(Errno.EINVAL);
    // vhdx_log_search, then a replay (read-write) or "opened read-only, but contains a log…".
    throw new ModelIoUnsupportedError("a vhdx image with a log (vhdx_log_search and its replay)");
  }

  /** `vhdx_open_region_tables`: the BAT and metadata regions, each once, none overlapping. */
  private openRegionTables(): { bat: { offset: bigint; length: bigint }; metadata: { offset: bigint; length: bigint } } {
    const buf = this.read(VHDX_REGION_TABLE_OFFSET, VHDX_HEADER_BLOCK_SIZE);
    if (!checksumIsValid(buf, 4)) bail(Errno.EINVAL);
    if (buf.readUInt32LE(0) !== VHDX_REGION_SIGNATURE) bail(Errno.EINVAL);
    const count = buf.readUInt32LE(8);
    if (count > 2047) bail(Errno.EINVAL);
    let bat: { offset: bigint; length: bigint } | undefined;
    let metadata: { offset: bigint; length: bigint } | undefined;
    for (let i = 0; i < count; i++) {
      const at = 16 + i * 32;
      const id = buf.subarray(at, at + 16);
      const entry = { offset: buf.readBigUInt64LE(at + 16), length: BigInt(buf.readUInt32LE(at + 24)) };
      checkRegion(this.regions, entry.offset, entry.length);
      this.regions.push({ start: entry.offset, end: entry.offset + entry.length });
      if (id.equals(BAT_GUID)) {
        if (bat) bail(Errno.EINVAL);
        bat = entry;
      } else if (id.equals(METADATA_GUID)) {
        if (metadata) bail(Errno.EINVAL);
        metadata = entry;
      } else if (buf.readUInt32LE(at + 28) & VHDX_REGION_ENTRY_REQUIRED) {
        bail(Errno.ENOTSUP);
      }
    }
    if (!bat || !metadata) return bail(Errno.EINVAL);
    return { bat, metadata };
  }

  /** `vhdx_parse_metadata`: the five required items, no parent, 512-byte logical sectors. */
  private parseMetadata(region: { offset: bigint }): { virtualSize: bigint; blockSize: number } {
    const buf = this.read(region.offset, VHDX_METADATA_TABLE_MAX_SIZE);
    if (buf.toString("latin1", 0, 8) !== "metadata") bail(Errno.EINVAL);
    const count = buf.readUInt16LE(10);
    if (count * 32 > VHDX_METADATA_TABLE_MAX_SIZE - 32) bail(Errno.EINVAL);
    const known = [FILE_PARAM_GUID, VIRTUAL_SIZE_GUID, PAGE83_GUID, LOGICAL_SECTOR_GUID, PHYS_SECTOR_GUID, PARENT_LOCATOR_GUID];
    const found = new Map<number, number>();
    for (let i = 0; i < count; i++) {
      const at = 32 + i * 32;
      const id = buf.subarray(at, at + 16);
      const k = known.findIndex((g) => g.equals(id));
      if (k >= 0) {
        if (found.has(k)) bail(Errno.EINVAL);
        found.set(k, buf.readUInt32LE(at + 16));
      } else if (buf.readUInt32LE(at + 24) & VHDX_META_FLAGS_IS_REQUIRED) {
        bail(Errno.ENOTSUP);
      }
    }
    // All five required items, and no parent locator (META_ALL_PRESENT is exactly those five).
    if (found.size !== 5 || found.has(5)) bail(Errno.ENOTSUP);
    const item = (k: number, bytes: number) => this.read(region.offset + BigInt(found.get(k)!), bytes);
    const params = item(0, 8);
    const blockSize = params.readUInt32LE(0);
    // A differencing image: its parent locator would have been present (ENOTSUP above); without one it is invalid.
    if (params.readUInt32LE(4) & VHDX_PARAMS_HAS_PARENT) bail(Errno.EINVAL);
    const virtualSize = item(1, 8).readBigUInt64LE(0);
    const logicalSectorSize = item(3, 4).readUInt32LE(0);
    item(4, 4);
    if (blockSize < VHDX_BLOCK_SIZE_MIN || blockSize > VHDX_BLOCK_SIZE_MAX) bail(Errno.EINVAL);
    if (logicalSectorSize !== 512) bail(Errno.ENOTSUP);
    // Powers of two, which the range checks leave open only for the block size.
    if ((blockSize & (blockSize - 1)) !== 0) bail(Errno.EINVAL);
    return { virtualSize, blockSize };
  }

  /** `vhdx_check_bat_entries` (QEMU prints which entry on its stderr). */
  private checkBatEntries(img: VhdxImage, chunkRatio: number): void {
    const fileSize = BigInt(nodeLength(this.file));
    const total = (img.virtualSize / 512n) * 512n;
    const blockSize = BigInt(img.blockSize);
    let payblocks = BigInt(chunkRatio);
    // Converted once: a large image's table has millions of entries, nearly all absent.
    const stateMask = Number(VHDX_BAT_STATE_BIT_MASK);
    for (let i = 0; i < img.batEntries; i++) {
      // The state is the low three bits of the entry's first byte.
      if ((img.bat[i * 8]! & stateMask) !== PAYLOAD_BLOCK_FULLY_PRESENT) continue;
      const entry = img.bat.readBigUInt64LE(i * 8);
      const offset = entry & VHDX_BAT_FILE_OFF_MASK;
      // MIN(block_size, total - i * block_size) in unsigned arithmetic.
      const rest = BigInt.asUintN(64, total - BigInt(i) * blockSize);
      const blockLength = rest < blockSize ? rest : blockSize;
      if (offset > 2n ** 63n - 1n - blockSize) bail(Errno.EINVAL);
      if (offset >= fileSize || offset + blockLength > fileSize) bail(Errno.EINVAL);
      if (payblocks-- !== 0n) checkRegion(this.regions, offset, blockSize);
      else payblocks = BigInt(chunkRatio);
    }
  }
}
