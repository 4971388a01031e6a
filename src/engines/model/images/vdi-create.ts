/**
 * A fresh VDI image as `qemu-img create -f vdi` 7.2 writes it (vdi_co_do_create): the 512-byte
 * header, then the block map rounded up to whole sectors (every entry VDI_UNALLOCATED, or for a
 * `static` image the identity map), and for a static image a truncate to the full data area, which
 * leaves it a hole. The two UUIDs qemu-img draws at random (image and last snapshot) are written as
 * zeros here: they are the only bytes that differ from qemu-img's.
 */
import type { ImageSpec } from "../../engine.js";
import { ImageRefusedAfterCreateError, ImageSpecError } from "./image-errors.js";
import type { ImageLayout } from "./image-layout.js";
import { parseCreateOptions } from "./vdi-vpc-vhdx-create-options.js";
import {
  V,
  VDI_BLOCK_SIZE,
  VDI_DISK_SIZE_MAX,
  VDI_HEADER_SIZE,
  VDI_SIGNATURE,
  VDI_TEXT,
  VDI_TYPE_DYNAMIC,
  VDI_TYPE_STATIC,
  VDI_UNALLOCATED,
  VDI_VERSION_1_1,
} from "./vdi-format.js";

/** vdi_create_opts plus the file protocol's (qemu-img passes those on to file-posix). */
const CREATE_OPTS = { static: "bool", preallocation: "string", nocow: "bool", extent_size_hint: "size" } as const;

/** vdi: `static` and file-posix's `preallocation`; no backing file, no data file. */
export function vdiImage(spec: ImageSpec, size: number): ImageLayout {
  if (spec.backingFile !== undefined) throw new ImageSpecError("Backing file not supported for file format 'vdi'");
  if (spec.dataFile !== undefined) throw new ImageSpecError("Invalid parameter 'data_file'");
  const opts = parseCreateOptions(spec, CREATE_OPTS);
  const isStatic = opts.bool("static", false);
  // The file is created empty first (raw_co_create), so its preallocation mode changes nothing;
  // one it cannot apply fails only once the file is there.
  const prealloc = opts.str("preallocation");
  if (prealloc === "metadata") throw new ImageRefusedAfterCreateError("Unsupported preallocation mode: metadata");
  if (prealloc !== undefined && !["off", "falloc", "full"].includes(prealloc)) throw new ImageSpecError(`invalid parameter value: ${prealloc}`);
  if (BigInt(size) > VDI_DISK_SIZE_MAX) {
    throw new ImageRefusedAfterCreateError(`Unsupported VDI image size (size is 0x${size.toString(16)}, max supported is 0x${VDI_DISK_SIZE_MAX.toString(16)})`);
  }
  return vdiLayout(size, isStatic);
}

function vdiLayout(size: number, isStatic: boolean): ImageLayout {
  const blocks = Math.ceil(size / VDI_BLOCK_SIZE);
  const bmapSize = Math.ceil((blocks * 4) / 512) * 512;
  const h = Buffer.alloc(VDI_HEADER_SIZE);
  h.write(VDI_TEXT, V.text, "latin1");
  h.writeUInt32LE(VDI_SIGNATURE, V.signature);
  h.writeUInt32LE(VDI_VERSION_1_1, V.version);
  h.writeUInt32LE(0x180, V.headerSize);
  h.writeUInt32LE(isStatic ? VDI_TYPE_STATIC : VDI_TYPE_DYNAMIC, V.imageType);
  h.writeUInt32LE(VDI_HEADER_SIZE, V.offsetBmap);
  h.writeUInt32LE(VDI_HEADER_SIZE + bmapSize, V.offsetData);
  h.writeUInt32LE(512, V.sectorSize);
  h.writeBigUInt64LE(BigInt(size), V.diskSize);
  h.writeUInt32LE(VDI_BLOCK_SIZE, V.blockSize);
  h.writeUInt32LE(blocks, V.blocksInImage);
  if (isStatic) h.writeUInt32LE(blocks, V.blocksAllocated);
  const chunks = [{ offset: 0, bytes: h }];
  if (bmapSize > 0) {
    const bmap = Buffer.alloc(bmapSize);
    for (let i = 0; i < blocks; i++) bmap.writeUInt32LE(isStatic ? i : VDI_UNALLOCATED, i * 4);
    chunks.push({ offset: VDI_HEADER_SIZE, bytes: bmap });
  }
  const end = VDI_HEADER_SIZE + bmapSize;
  return { chunks, length: isStatic ? end + blocks * VDI_BLOCK_SIZE : end };
}

/** The header bytes qemu-img fills at random: uuid_image and uuid_last_snap. */
export const VDI_RANDOM_FIELDS: readonly { name: string; offset: number; length: number }[] = [
  { name: "uuid_image", offset: V.uuidImage, length: 16 },
  { name: "uuid_last_snap", offset: V.uuidLastSnap, length: 16 },
];
