/**
 * A fresh VHDX image as `qemu-img create -f vhdx` 7.2 writes it (vhdx_co_create_opts,
 * vhdx_co_create): the file identifier with QEMU's name as creator, two headers, two region tables
 * (BAT, metadata), the BAT (written when it is not all zeros on a zero-initialised file), and the
 * metadata table and items; the file then ends 5 MiB past the BAT (plus the data of a fixed image).
 * qemu-img draws the headers' sequence number and write GUIDs and the page 83 GUID at random: the
 * writer leaves them zero (sequence numbers 0 and 1) and checksums what it wrote (VHDX_RANDOM_FIELDS).
 */
import type { ImageSpec } from "../../engine.js";
import { ImageRefusedAfterCreateError, ImageSpecError } from "./image-errors.js";
import type { ImageLayout } from "./image-layout.js";
import { parseCreateOptions } from "./vdi-vpc-vhdx-create-options.js";
import {
  BAT_GUID,
  batGeometry,
  DEFAULT_LOG_SIZE,
  FILE_PARAM_GUID,
  HDR,
  LOGICAL_SECTOR_GUID,
  METADATA_GUID,
  MiB,
  PAGE83_GUID,
  PAYLOAD_BLOCK_FULLY_PRESENT,
  PAYLOAD_BLOCK_NOT_PRESENT,
  PAYLOAD_BLOCK_ZERO,
  PHYS_SECTOR_GUID,
  updateChecksum,
  VHDX_BAT_FILE_OFF_MASK,
  VHDX_BLOCK_SIZE_MAX,
  VHDX_HEADER_BLOCK_SIZE,
  VHDX_HEADER_SECTION_END,
  VHDX_HEADER_SIGNATURE,
  VHDX_HEADER_SIZE,
  VHDX_HEADER1_OFFSET,
  VHDX_HEADER2_OFFSET,
  VHDX_MAX_IMAGE_SIZE,
  VHDX_META_FLAGS_IS_REQUIRED,
  VHDX_META_FLAGS_IS_VIRTUAL_DISK,
  VHDX_PARAMS_LEAVE_BLOCKS_ALLOCED,
  VHDX_REGION_SIGNATURE,
  VHDX_REGION_TABLE_OFFSET,
  VHDX_REGION_TABLE2_OFFSET,
  VIRTUAL_SIZE_GUID,
} from "./vhdx-format.js";

/** vhdx_create_opts and the file protocol's. */
const CREATE_OPTS = {
  log_size: "size",
  block_size: "size",
  subformat: "string",
  block_state_zero: "bool",
  preallocation: "string",
  nocow: "bool",
  extent_size_hint: "size",
} as const;

/** QEMU_VERSION of the QEMU the model is: the creator qemu-img writes into the file identifier. */
const CREATOR = "QEMU v7.2.22";

const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;

/** What vhdx_co_create_opts and vhdx_co_create make of the options. */
interface VhdxOptions {
  logSize: number;
  blockSize: number;
  fixed: boolean;
  useZeroBlocks: boolean;
}

function vhdxOptions(spec: ImageSpec, size: number): VhdxOptions {
  const opts = parseCreateOptions(spec, CREATE_OPTS);
  const subformat = opts.str("subformat") ?? "dynamic";
  // The QAPI visitor and vhdx_co_create check what they get after the file is created.
  if (subformat !== "dynamic" && subformat !== "fixed") throw new ImageRefusedAfterCreateError(`Parameter 'subformat' does not accept value '${subformat}'`);
  // vhdx_co_create_opts rounds log and block sizes up to whole MiB; a block size of 0 means "by the image size".
  const logSize = opts.has("log_size") ? roundUp(Number(opts.uint("log_size", 0n)), MiB) : DEFAULT_LOG_SIZE;
  let blockSize = opts.has("block_size") ? Math.min(roundUp(Number(opts.uint("block_size", 0n)), MiB), VHDX_BLOCK_SIZE_MAX) : 0;
  if (size > VHDX_MAX_IMAGE_SIZE) throw new ImageRefusedAfterCreateError("Image size too large; max of 64TB");
  if (logSize > 0xffffffff) throw new ImageRefusedAfterCreateError("Log size must be smaller than 4 GB");
  if (logSize < MiB || logSize % MiB !== 0) throw new ImageRefusedAfterCreateError("Log size must be a multiple of 1 MB");
  if (blockSize === 0) {
    // Arbitrary steps that keep the BAT small enough to load.
    blockSize = size > 32 * 2 ** 40 ? 64 * MiB : size > 100 * 2 ** 30 ? 32 * MiB : size > 2 ** 30 ? 16 * MiB : 8 * MiB;
  }
  if ((blockSize & (blockSize - 1)) !== 0) throw new ImageRefusedAfterCreateError("Block size must be a power of two");
  return { logSize, blockSize, fixed: subformat === "fixed", useZeroBlocks: opts.bool("block_state_zero", true) };
}

/** vhdx: `subformat`, `block_size`, `log_size`, `block_state_zero`; no backing file, no data file. */
export function vhdxImage(spec: ImageSpec, size: number): ImageLayout {
  if (spec.backingFile !== undefined) throw new ImageSpecError("Backing file not supported for file format 'vhdx'");
  if (spec.dataFile !== undefined) throw new ImageSpecError("Invalid parameter 'data_file'");
  return vhdxLayout(size, vhdxOptions(spec, size));
}

function vhdxLayout(size: number, o: VhdxOptions): ImageLayout {
  const chunks: { offset: number; bytes: Buffer }[] = [];
  // (A) the file identifier: the signature, then the creator in UTF-16.
  chunks.push({ offset: 0, bytes: Buffer.from("vhdxfile", "latin1") });
  chunks.push({ offset: 8, bytes: Buffer.from(CREATOR, "utf16le") });
  // (B), (C) the headers: the second one's sequence number one higher.
  for (const [i, at] of [VHDX_HEADER1_OFFSET, VHDX_HEADER2_OFFSET].entries()) {
    const h = Buffer.alloc(VHDX_HEADER_SIZE);
    h.writeUInt32LE(VHDX_HEADER_SIGNATURE, HDR.signature);
    h.writeBigUInt64LE(BigInt(i), HDR.sequenceNumber);
    h.writeUInt16LE(0, HDR.logVersion);
    h.writeUInt16LE(1, HDR.version);
    h.writeUInt32LE(o.logSize, HDR.logLength);
    h.writeBigUInt64LE(BigInt(VHDX_HEADER_SECTION_END), HDR.logOffset);
    updateChecksum(h, HDR.checksum);
    chunks.push({ offset: at, bytes: h });
  }
  // (D), (E) the region tables, and (G) the BAT they place.
  const g = batGeometry(size, o.blockSize);
  const batLength = roundUp(g.batEntries * 8, MiB);
  const batOffset = roundUp(VHDX_HEADER_SECTION_END + o.logSize, MiB);
  const metadataOffset = roundUp(batOffset + batLength, MiB);
  const rt = Buffer.alloc(VHDX_HEADER_BLOCK_SIZE);
  rt.writeUInt32LE(VHDX_REGION_SIGNATURE, 0);
  rt.writeUInt32LE(2, 8);
  const entry = (at: number, id: Buffer, offset: number, length: number) => {
    id.copy(rt, at);
    rt.writeBigUInt64LE(BigInt(offset), at + 16);
    rt.writeUInt32LE(length, at + 24);
  };
  entry(16, BAT_GUID, batOffset, batLength);
  entry(48, METADATA_GUID, metadataOffset, MiB);
  updateChecksum(rt, 4);
  // The file grows first (vhdx_create_bat's truncate), then the BAT and the region tables are written.
  const dataFileOffset = batOffset + batLength + 5 * MiB;
  const length = o.fixed ? dataFileOffset + size : dataFileOffset;
  // A zero-initialised file needs no BAT of NOT_PRESENT entries: nothing is written then.
  if (o.fixed || o.useZeroBlocks) chunks.push({ offset: batOffset, bytes: bat(size, o, g, batLength, dataFileOffset) });
  chunks.push({ offset: VHDX_REGION_TABLE_OFFSET, bytes: rt });
  chunks.push({ offset: VHDX_REGION_TABLE2_OFFSET, bytes: rt });
  // (H) the metadata table, and its items 64 KiB in.
  const items = Buffer.alloc(40);
  items.writeUInt32LE(o.blockSize, 0);
  if (o.fixed) items.writeUInt32LE(VHDX_PARAMS_LEAVE_BLOCKS_ALLOCED, 4);
  items.writeBigUInt64LE(BigInt(size), 8);
  // 16..31: the page 83 GUID, random in qemu-img's file.
  items.writeUInt32LE(512, 32);
  items.writeUInt32LE(512, 36);
  const md = Buffer.alloc(VHDX_HEADER_BLOCK_SIZE);
  md.write("metadata", 0, "latin1");
  md.writeUInt16LE(5, 10);
  const required = VHDX_META_FLAGS_IS_REQUIRED;
  const virtualDisk = VHDX_META_FLAGS_IS_REQUIRED | VHDX_META_FLAGS_IS_VIRTUAL_DISK;
  const mdEntries: [Buffer, number, number][] = [
    [FILE_PARAM_GUID, 8, required],
    [VIRTUAL_SIZE_GUID, 8, virtualDisk],
    [PAGE83_GUID, 16, virtualDisk],
    [LOGICAL_SECTOR_GUID, 4, virtualDisk],
    [PHYS_SECTOR_GUID, 4, virtualDisk],
  ];
  let itemOffset = VHDX_HEADER_BLOCK_SIZE;
  for (const [i, [id, len, bits]] of mdEntries.entries()) {
    const at = 32 + i * 32;
    id.copy(md, at);
    md.writeUInt32LE(itemOffset, at + 16);
    md.writeUInt32LE(len, at + 20);
    md.writeUInt32LE(bits, at + 24);
    itemOffset += len;
  }
  chunks.push({ offset: metadataOffset, bytes: md });
  chunks.push({ offset: metadataOffset + VHDX_HEADER_BLOCK_SIZE, bytes: items });
  return { chunks, length };
}

/** `vhdx_create_bat`'s table: one entry per block (sector bitmap entries stay zero). */
function bat(size: number, o: VhdxOptions, g: ReturnType<typeof batGeometry>, batLength: number, dataFileOffset: number): Buffer {
  const table = Buffer.alloc(batLength);
  const state = o.useZeroBlocks ? PAYLOAD_BLOCK_ZERO : o.fixed ? PAYLOAD_BLOCK_FULLY_PRESENT : PAYLOAD_BLOCK_NOT_PRESENT;
  const totalSectors = Math.floor(size / 512);
  for (let sector = 0; sector < totalSectors; sector += g.sectorsPerBlock) {
    const block = Math.floor(sector / g.sectorsPerBlock);
    const index = block + (block >>> g.chunkRatioBits);
    // vhdx_update_bat_table_entry: only a present block keeps its file offset.
    const fileOffset = state === PAYLOAD_BLOCK_FULLY_PRESENT ? BigInt(roundUp(dataFileOffset + sector * 512, MiB)) & VHDX_BAT_FILE_OFF_MASK : 0n;
    table.writeBigUInt64LE(fileOffset | BigInt(state), index * 8);
  }
  return table;
}
