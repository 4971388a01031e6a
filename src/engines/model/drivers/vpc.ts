/**
 * `vpc` (block/vpc.c): Virtual PC / Hyper-V VHD images, fixed (data, then a footer) or dynamic
 * (footer, dynamic disk header, BAT, blocks each behind a sector bitmap, footer copy at the end).
 * The model follows vpc_open's checks and messages (the size from the CHS geometry or the footer,
 * by creator application), reopen (always allowed), the default format permissions,
 * bdrv_get_info, block status, reads and writes (a new block goes where the footer was, the footer
 * moves to the end and the BAT entry is written).
 */
import { bdrvPreadv, bdrvPwritev } from "../data/block-io.js";
import { Data } from "../data/data.js";
import { Errno } from "../data/io-error.js";
import { BDRV_BLOCK_DATA, BDRV_BLOCK_OFFSET_VALID, BDRV_BLOCK_RECURSE, BDRV_BLOCK_ZERO } from "../data/request-flags.js";
import { bdrvDefaultPerms } from "../child-perms.js";
import { type BdsNode, childNamed } from "../graph.js";
import { nodeLength } from "../node-length.js";
import { OpaqueSlot } from "../opaque.js";
import { fail } from "../qmp-failure.js";
import { BDRV_CHILD_IMAGE } from "../roles.js";
import { D, F, VHD_DYN_HEADER_SIZE, VHD_FIXED, VHD_FOOTER_SIZE, VHD_MAX_GEOMETRY, VHD_MAX_SECTORS, vpcChecksum } from "../images/vpc-format.js";
import type { DriverDef, DriverHost } from "./driver.js";
import { failOpen, readMetadata } from "./vdi-vpc-vhdx-read.js";

/** BDRVVPCState. */
interface VpcState {
  /** s->footer as read (checksum included). */
  footer: Buffer;
  fixed: boolean;
  blockSize: number;
  bitmapSize: number;
  /** s->pagetable: sector numbers of the blocks' bitmaps, 0xffffffff for none. */
  pagetable: Uint32Array;
  batOffset: number;
  freeDataBlockOffset: number;
  /** s->last_bitmap_offset: the bitmap a write last set (-1: none). */
  lastBitmapOffset: number;
}

const slot = new OpaqueSlot<VpcState>("vpc");

/** Creator applications whose images are sized by the footer's current_size rather than by CHS. */
const SIZED_BY_FOOTER = ["win ", "qem2", "d2v ", "CTXS"];

/** INT_MAX / 4 and the uint32 page table entry for "not allocated". */
const INT_MAX = 2 ** 31 - 1;
const UNALLOCATED = 0xffffffff;

/** `vpc_open` up to the size: the footer (at 0, or at the end of a fixed image) and its checksum. */
function readFooter(ctx: { host: DriverHost }, file: BdsNode): { footer: Buffer; fixed: boolean } {
  let footer = readMetadata(ctx.host, file, 0, VHD_FOOTER_SIZE, "Unable to read VHD header");
  let fixed = false;
  if (footer.toString("latin1", F.creator, F.creator + 8) !== "conectix") {
    const length = nodeLength(file);
    if (length < VHD_FOOTER_SIZE) fail("File too small for a VHD header");
    // A fixed image has its footer only at the end.
    footer = readMetadata(ctx.host, file, length - VHD_FOOTER_SIZE, VHD_FOOTER_SIZE);
    if (footer.toString("latin1", F.creator, F.creator + 8) !== "conectix" || footer.readUInt32BE(F.type) !== VHD_FIXED) {
      fail("invalid VPC image");
    }
    fixed = true;
  }
  const checksum = footer.readUInt32BE(F.checksum);
  const zeroed = Buffer.from(footer);
  zeroed.writeUInt32BE(0, F.checksum);
  if (vpcChecksum(zeroed) !== checksum) fail("Incorrect header checksum");
  return { footer, fixed };
}

/** bs->total_sectors: the CHS geometry's, or the footer's current_size for images sized that way. */
function totalSectors(footer: Buffer): number {
  const chs = footer.readUInt16BE(F.cyls) * footer.readUInt8(F.heads) * footer.readUInt8(F.secsPerCyl);
  const app = footer.subarray(F.creatorApp, F.creatorApp + 4);
  // 'tap\0' is compared with memcmp over all four bytes.
  const useChs = !SIZED_BY_FOOTER.includes(app.toString("latin1")) && !app.equals(Buffer.from("tap\0", "latin1"));
  if (!useChs || chs === VHD_MAX_GEOMETRY) return Number(footer.readBigUInt64BE(F.currentSize) / 512n);
  return chs;
}

/** `vpc_open` for a dynamic image: the dynamic disk header and the BAT. */
function openDynamic(ctx: { host: DriverHost }, file: BdsNode, footer: Buffer, sectors: number): Omit<VpcState, "footer" | "fixed"> {
  const h = readMetadata(ctx.host, file, footer.readBigUInt64BE(F.dataOffset), VHD_DYN_HEADER_SIZE, "Error reading dynamic VHD header");
  if (h.toString("latin1", D.magic, D.magic + 8) !== "cxsparse") fail("Invalid header magic");
  const blockSize = h.readUInt32BE(D.blockSize);
  if ((blockSize & (blockSize - 1)) !== 0 || blockSize < 512) fail(`Invalid block size ${blockSize}`);
  const bitmapSize = (Math.floor(blockSize / (8 * 512)) + 511) & ~511;
  // An int in QEMU: entries of 2^31 and more are negative.
  const maxTableEntries = h.readInt32BE(D.maxTableEntries);
  if (Math.floor((sectors * 512) / blockSize) > 0xffffffff) fail("Too many blocks");
  // (uint64_t) of the int: a negative count wraps around.
  const computedSize = (BigInt.asUintN(64, BigInt(maxTableEntries)) * BigInt(blockSize)) & (2n ** 64n - 1n);
  if (computedSize < BigInt(sectors) * 512n) fail("Page table too small");
  // max_table_entries > SIZE_MAX / 4 compares as unsigned: negative counts are too large.
  if (maxTableEntries < 0 || maxTableEntries > Math.floor(INT_MAX / 4)) fail(`Max Table Entries too large (${maxTableEntries})`);
  const tableBytes = maxTableEntries * 4;
  const batOffset = h.readBigUInt64BE(D.tableOffset);
  const raw = readMetadata(ctx.host, file, batOffset, tableBytes, "Error reading pagetable");
  const pagetable = new Uint32Array(maxTableEntries);
  let free = Math.ceil((Number(batOffset) + tableBytes) / 512) * 512;
  for (let i = 0; i < maxTableEntries; i++) {
    const entry = raw.readUInt32BE(i * 4);
    pagetable[i] = entry;
    if (entry !== UNALLOCATED) free = Math.max(free, 512 * entry + bitmapSize + blockSize);
  }
  if (free > nodeLength(file)) fail("block-vpc: free_data_block_offset points after the end of file. The image has been truncated.");
  return { blockSize, bitmapSize, pagetable, batOffset: Number(batOffset), freeDataBlockOffset: free, lastBitmapOffset: -1 };
}

/** `get_image_offset` without the write side: where guest `offset` is in the file, or -1. */
function imageOffset(s: VpcState, offset: number): number {
  const index = Math.floor(offset / s.blockSize);
  if (index >= s.pagetable.length || s.pagetable[index] === UNALLOCATED) return -1;
  return 512 * s.pagetable[index]! + s.bitmapSize + (offset % s.blockSize);
}

/** `get_image_offset(bs, offset, true, …)`: a block written for the first time since the last one gets its bitmap set. */
function imageOffsetForWrite(host: DriverHost, file: BdsNode, s: VpcState, offset: number): number {
  const at = imageOffset(s, offset);
  if (at === -1) return -1;
  const bitmapOffset = 512 * s.pagetable[Math.floor(offset / s.blockSize)]!;
  if (s.lastBitmapOffset !== bitmapOffset) {
    s.lastBitmapOffset = bitmapOffset;
    bdrvPwritev(host, file, bitmapOffset, Data.fill(s.bitmapSize, 0xff), 0);
  }
  return at;
}

/** `alloc_block`: the new block's bitmap where the footer was, the footer after it, then the BAT entry. */
function allocBlock(host: DriverHost, file: BdsNode, s: VpcState, offset: number): number {
  const index = Math.floor(offset / s.blockSize);
  s.pagetable[index] = s.freeDataBlockOffset / 512;
  bdrvPwritev(host, file, s.freeDataBlockOffset, Data.fill(s.bitmapSize, 0xff), 0);
  s.freeDataBlockOffset += s.blockSize + s.bitmapSize;
  bdrvPwritev(host, file, s.freeDataBlockOffset, Data.bytes(Buffer.from(s.footer)), 0);
  const entry = Buffer.alloc(4);
  entry.writeUInt32BE(s.pagetable[index]!);
  bdrvPwritev(host, file, s.batOffset + 4 * index, Data.bytes(entry), 0);
  return imageOffset(s, offset);
}

export const vpcDriver: DriverDef = {
  name: "vpc",
  protocol: false,
  isFilter: false,
  supportsBacking: false,
  mutableOpts: [],
  strongOpts: ["force_size_calc"],

  /** `vpc_probe`: "conectix" at the start (a dynamic image's footer copy). */
  probe: (buf) => (buf.toString("latin1", 0, 8) === "conectix" ? 100 : 0),

  open(ctx) {
    const file = ctx.openChild("file", BDRV_CHILD_IMAGE, false)!.bs;
    // force_size_calc, vpc's only runtime option, is not in the QAPI schema: blockdev-add refuses it first.
    const { footer, fixed } = readFooter(ctx, file);
    const sectors = totalSectors(footer);
    // 2040 GiB at most; vpc_open fails with -EFBIG and no message of its own.
    if (sectors > VHD_MAX_SECTORS) failOpen(file, Errno.EFBIG);
    // A footer at the start makes the image dynamic whatever its type says.
    const dynamic = fixed ? undefined : openDynamic(ctx, file, footer, sectors);
    ctx.node.size = sectors * 512;
    slot.set(ctx.node, {
      footer,
      fixed,
      ...(dynamic ?? { blockSize: 0, bitmapSize: 0, pagetable: new Uint32Array(0), batOffset: 0, freeDataBlockOffset: 0, lastBitmapOffset: -1 }),
    });
  },

  childPerm: bdrvDefaultPerms,

  /** `vpc_reopen_prepare`: anything goes. */
  reopenPrepare() {},

  /** `vpc_get_info`: a dynamic image's block size; a fixed image has no clusters. */
  getInfo(node) {
    const s = slot.get(node);
    return { info: { clusterSize: s.footer.readUInt32BE(F.type) !== VHD_FIXED ? s.blockSize : 0, isDirty: false, vmStateOffset: 0 } };
  },

  /** `vpc_co_block_status`: a fixed image maps through; a dynamic one block by block. */
  blockStatus(_host, node, _wantZero, offset, bytes) {
    const s = slot.get(node);
    const file = childNamed(node, "file")!.bs;
    if (s.footer.readUInt32BE(F.type) === VHD_FIXED) {
      return { status: BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID | BDRV_BLOCK_RECURSE, pnum: bytes, map: offset, file };
    }
    let at = imageOffset(s, offset);
    let pnum = 0;
    for (;;) {
      const n = Math.min(Math.ceil((offset + 1) / s.blockSize) * s.blockSize - offset, bytes);
      pnum += n;
      offset += n;
      bytes -= n;
      // An allocated block ends the run: its bitmap sits between it and the next.
      if (at !== -1) return { status: BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID, pnum, map: at, file };
      if (bytes === 0) break;
      at = imageOffset(s, offset);
      if (at !== -1) break;
    }
    return { status: BDRV_BLOCK_ZERO, pnum, map: 0, file: null };
  },

  /** `vpc_co_preadv`. */
  preadv(host, node, offset, bytes) {
    const s = slot.get(node);
    const file = childNamed(node, "file")!.bs;
    if (s.footer.readUInt32BE(F.type) === VHD_FIXED) return bdrvPreadv(host, file, offset, bytes);
    const parts: Data[] = [];
    while (bytes > 0) {
      const at = imageOffset(s, offset);
      const n = Math.min(bytes, s.blockSize - (offset % s.blockSize));
      parts.push(at === -1 ? Data.zeros(n) : bdrvPreadv(host, file, at, n));
      bytes -= n;
      offset += n;
    }
    return Data.concat(parts);
  },

  /** `vpc_co_pwritev`. */
  pwritev(host, node, offset, data) {
    const s = slot.get(node);
    const file = childNamed(node, "file")!.bs;
    if (s.footer.readUInt32BE(F.type) === VHD_FIXED) {
      bdrvPwritev(host, file, offset, data, 0);
      return;
    }
    for (let done = 0; done < data.length; ) {
      let at = imageOffsetForWrite(host, file, s, offset);
      const n = Math.min(data.length - done, s.blockSize - (offset % s.blockSize));
      if (at === -1) at = allocBlock(host, file, s, offset);
      bdrvPwritev(host, file, at, data.slice(done, n), 0);
      done += n;
      offset += n;
    }
  },
};
