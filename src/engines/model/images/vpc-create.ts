/**
 * A fresh VHD image as `qemu-img create -f vpc` 7.2 writes it (vpc_co_create_opts, vpc_co_create):
 * the size rounded up to the next CHS geometry unless `force_size`, then for a dynamic image the
 * footer at 0 and again at the end, the BAT (all 0xff) from sector 3 and the dynamic disk header at
 * 512; for a fixed image a truncate of the empty file (file-posix then zeroes its first block) and
 * the footer at the end. qemu-img's footer has a timestamp from the clock and a random UUID, and a
 * checksum over them; the writer leaves the two zero and sums what it wrote (VPC_FOOTER_RANDOM_FIELDS).
 */
import type { ImageSpec } from "../../engine.js";
import { ImageRefusedAfterCreateError, ImageSpecError } from "./image-errors.js";
import type { ImageLayout } from "./image-layout.js";
import { parseCreateOptions } from "./vdi-vpc-vhdx-create-options.js";
import {
  calculateGeometry,
  D,
  F,
  VHD_BLOCK_SIZE,
  VHD_CHS_MAX_C,
  VHD_CHS_MAX_H,
  VHD_CHS_MAX_S,
  VHD_DYN_HEADER_SIZE,
  VHD_DYNAMIC,
  VHD_FIXED,
  VHD_FOOTER_SIZE,
  VHD_MAX_GEOMETRY,
  VHD_MAX_SECTORS,
  vpcChecksum,
} from "./vpc-format.js";

/** vpc_create_opts and the file protocol's. */
const CREATE_OPTS = { subformat: "string", force_size: "bool", preallocation: "string", nocow: "bool", extent_size_hint: "size" } as const;

/** The footer fields qemu-img fills from the clock or at random (or computes over those). */
export const VPC_FOOTER_RANDOM_FIELDS: readonly { name: string; offset: number; length: number }[] = [
  { name: "timestamp", offset: F.timestamp, length: 4 },
  { name: "checksum", offset: F.checksum, length: 4 },
  { name: "uuid", offset: F.uuid, length: 16 },
];

/** The error qemu-img reports for bdrv_create's -EFBIG. */
const TOO_LARGE = "The image size is too large for file format 'vpc'";

interface Geometry {
  cyls: number;
  heads: number;
  secs: number;
  totalSectors: number;
}

/** `calculate_rounded_image_size`; throws for a size past 2040 GiB. */
export function roundedImageSize(size: number, forceSize: boolean): Geometry {
  let g = { cyls: 0, heads: 0, secs: 0 };
  if (forceSize) {
    g = { cyls: VHD_CHS_MAX_C, heads: VHD_CHS_MAX_H, secs: VHD_CHS_MAX_S };
  } else {
    const wanted = Math.min(VHD_MAX_GEOMETRY, Math.floor(size / 512));
    for (let i = 0; wanted > g.cyls * g.heads * g.secs; i++) g = calculateGeometry(wanted + i);
  }
  const product = g.cyls * g.heads * g.secs;
  if (product === VHD_MAX_GEOMETRY) {
    const totalSectors = Math.floor(size / 512);
    if (totalSectors > VHD_MAX_SECTORS) throw new ImageRefusedAfterCreateError(TOO_LARGE);
    return { ...g, totalSectors };
  }
  return { ...g, totalSectors: product };
}

/** vpc: `subformat` (dynamic, fixed) and `force_size`; no backing file, no data file. */
export function vpcImage(spec: ImageSpec, size: number): ImageLayout {
  if (spec.backingFile !== undefined) throw new ImageSpecError("Backing file not supported for file format 'vpc'");
  if (spec.dataFile !== undefined) throw new ImageSpecError("Invalid parameter 'data_file'");
  const opts = parseCreateOptions(spec, CREATE_OPTS);
  const subformat = opts.str("subformat") ?? "dynamic";
  // The QAPI visitor and vpc_co_create check what they get after the file is created.
  if (subformat !== "dynamic" && subformat !== "fixed") throw new ImageRefusedAfterCreateError(`Parameter 'subformat' does not accept value '${subformat}'`);
  const forceSize = opts.bool("force_size", false);
  // vpc_co_create_opts rounds the size up to its geometry, then vpc_co_create computes it again.
  const total = forceSize ? size : roundedImageSize(size, false).totalSectors * 512;
  const g = roundedImageSize(total, forceSize);
  const footer = vpcFooter(total, g, subformat === "fixed" ? VHD_FIXED : VHD_DYNAMIC, forceSize);
  return subformat === "fixed" ? fixedLayout(footer, total) : dynamicLayout(footer, g.totalSectors);
}

function vpcFooter(size: number, g: Geometry, type: number, forceSize: boolean): Buffer {
  const f = Buffer.alloc(VHD_FOOTER_SIZE);
  f.write("conectix", F.creator, "latin1");
  f.write(forceSize ? "qem2" : "qemu", F.creatorApp, "latin1");
  f.write("Wi2k", F.creatorOs, "latin1");
  f.writeUInt32BE(0x02, F.features);
  f.writeUInt32BE(0x00010000, F.version);
  f.writeBigUInt64BE(type === VHD_DYNAMIC ? BigInt(VHD_FOOTER_SIZE) : 0xffffffffffffffffn, F.dataOffset);
  // Virtual PC 2007.
  f.writeUInt16BE(5, F.major);
  f.writeUInt16BE(3, F.minor);
  f.writeBigUInt64BE(BigInt(size), F.origSize);
  f.writeBigUInt64BE(BigInt(size), F.currentSize);
  f.writeUInt16BE(g.cyls, F.cyls);
  f.writeUInt8(g.heads, F.heads);
  f.writeUInt8(g.secs, F.secsPerCyl);
  f.writeUInt32BE(type, F.type);
  // Timestamp and UUID stay zero (VPC_FOOTER_RANDOM_FIELDS); the checksum covers them as they are.
  f.writeUInt32BE(vpcChecksum(f), F.checksum);
  return f;
}

/** `create_dynamic_disk`. */
function dynamicLayout(footer: Buffer, totalSectors: number): ImageLayout {
  const entries = Math.ceil(totalSectors / (VHD_BLOCK_SIZE / 512));
  const batBytes = Math.ceil((entries * 4) / 512) * 512;
  const end = 1536 + batBytes;
  const h = Buffer.alloc(VHD_DYN_HEADER_SIZE);
  h.write("cxsparse", D.magic, "latin1");
  // The spec says 0xFFFFFFFF, but Microsoft's tools expect all 64 bits set.
  h.writeBigUInt64BE(0xffffffffffffffffn, D.dataOffset);
  h.writeBigUInt64BE(1536n, D.tableOffset);
  h.writeUInt32BE(0x00010000, D.version);
  h.writeUInt32BE(VHD_BLOCK_SIZE, D.blockSize);
  h.writeUInt32BE(entries, D.maxTableEntries);
  h.writeUInt32BE(vpcChecksum(h), D.checksum);
  const chunks = [
    { offset: 0, bytes: footer },
    { offset: end, bytes: footer },
  ];
  if (batBytes > 0) chunks.push({ offset: 1536, bytes: Buffer.alloc(batBytes, 0xff) });
  chunks.push({ offset: 512, bytes: h });
  return { chunks, length: end + VHD_FOOTER_SIZE };
}

/** `create_fixed_disk`: file-posix's truncate of an empty file writes zeros over its first block. */
function fixedLayout(footer: Buffer, size: number): ImageLayout {
  const length = size + VHD_FOOTER_SIZE;
  return {
    chunks: [
      { offset: 0, bytes: Buffer.alloc(length < 4096 ? 512 : 4096) },
      { offset: size, bytes: footer },
    ],
    length,
  };
}
