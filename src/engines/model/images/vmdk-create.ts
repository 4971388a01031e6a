/**
 * A new vmdk image as `qemu-img create -f vmdk` 7.2 writes it (block/vmdk.c `vmdk_co_create_opts`,
 * `vmdk_co_do_create`, `vmdk_init_extent`): a monolithic sparse or streamOptimized file with its
 * descriptor embedded, or a descriptor file with flat or sparse extent files beside it.
 *
 * The descriptor's CID is `g_random_int()` in qemu-img; here it is a hash of the image's path, one
 * of the values qemu-img could have drawn, so both engines can make the same file. With a backing
 * file, its CID becomes the parentCID and its name as given the parentFileNameHint.
 */
import { dirname, isAbsolute, join } from "node:path";
import type { ImageSpec } from "../../engine.js";
import { probeDriver } from "../drivers/index.js";
import { ImageSpecError } from "./image-errors.js";
import type { ImageLayout, ImageSurroundings } from "./image-layout.js";
import {
  cString,
  DESC_SIZE,
  readCid,
  VMDK3_MAGIC,
  vmdkProbe,
  VMDK4_COMPRESSION_DEFLATE,
  VMDK4_FLAG_COMPRESS,
  VMDK4_FLAG_MARKER,
  VMDK4_FLAG_NL_DETECT,
  VMDK4_FLAG_RGD,
  VMDK4_FLAG_ZERO_GRAIN,
  VMDK4_HEADER_SIZE,
  VMDK4_MAGIC,
} from "./vmdk-format.js";

/** BlockdevVmdkSubformat. */
const SUBFORMATS = ["monolithicSparse", "monolithicFlat", "twoGbMaxExtentSparse", "twoGbMaxExtentFlat", "streamOptimized"] as const;
type Subformat = (typeof SUBFORMATS)[number];
/** BlockdevVmdkAdapterType. */
const ADAPTER_TYPES = ["ide", "buslogic", "lsilogic", "legacyESX"] as const;

/** VMDK has a constant split size. */
const SPLIT_SIZE = 0x80000000;
const SECTOR = 512;
const GRANULARITY = 128;
const GTES_PER_GT = 512;
/** BLOCK_PROBE_BUF_SIZE. */
const PROBE_BUF_SIZE = 2048;

/** What `-o` asks for, parsed as vmdk_co_create_opts reads it. */
interface VmdkCreateOptions {
  subformat: Subformat;
  adapterType: string;
  hwVersion: string | undefined;
  toolsVersion: string;
  compat6: boolean;
  zeroedGrain: boolean;
}

/** `qapi_bool_parse`. */
function parseBool(name: string, value: string): boolean {
  if (["on", "yes", "true", "y"].includes(value)) return true;
  if (["off", "no", "false", "n"].includes(value)) return false;
  throw new ImageSpecError(`Parameter '${name}' expects 'on' or 'off'`);
}

/** The options, with qemu-img's checks in its order (QemuOpts parsing first, then the driver's). */
function readOptions(spec: ImageSpec): VmdkCreateOptions {
  const given = new Map<string, string>();
  for (const [k, v] of spec.createOptions ?? []) {
    // qemu_opts_do_parse checks each bool as it goes; a repeated option's last value counts.
    if (k === "compat6" || k === "zeroed_grain") parseBool(k, v);
    given.set(k, v);
  }
  const adapterType = given.get("adapter_type") ?? "ide";
  if (!(ADAPTER_TYPES as readonly string[]).includes(adapterType)) throw new ImageSpecError(`invalid parameter value: ${adapterType}`);
  const subformat = given.get("subformat") ?? "monolithicSparse";
  if (!(SUBFORMATS as readonly string[]).includes(subformat)) throw new ImageSpecError(`invalid parameter value: ${subformat}`);
  const hw = given.get("hwversion");
  return {
    subformat: subformat as Subformat,
    adapterType,
    hwVersion: hw === undefined || hw === "undefined" ? undefined : hw,
    toolsVersion: given.get("toolsversion") ?? "2147483647",
    compat6: parseBool("compat6", given.get("compat6") ?? "off"),
    zeroedGrain: parseBool("zeroed_grain", given.get("zeroed_grain") ?? "off"),
  };
}

/** FNV-1a: the stand-in for g_random_int. */
function cidFor(path: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(path, "utf8")) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

const divRoundUp = (n: number, d: number) => Math.ceil(n / d);

/** `vmdk_init_extent` for a sparse extent of `filesize` bytes: the pwrites and the truncate, in order. */
function sparseExtent(filesize: number, compress: boolean, zeroedGrain: boolean): ImageLayout {
  const capacity = filesize / SECTOR;
  const grains = divRoundUp(capacity, GRANULARITY);
  const gtSize = divRoundUp(GTES_PER_GT * 4, SECTOR);
  const gtCount = divRoundUp(grains, GTES_PER_GT);
  const gdSectors = divRoundUp(gtCount * 4, SECTOR);
  const descOffset = 1;
  const descSize = 20;
  const rgdOffset = descOffset + descSize;
  const gdOffset = rgdOffset + gdSectors + gtSize * gtCount;
  const grainOffset = Math.ceil((gdOffset + gdSectors + gtSize * gtCount) / GRANULARITY) * GRANULARITY;

  const magic = Buffer.alloc(4);
  magic.writeUInt32BE(VMDK4_MAGIC);
  const h = Buffer.alloc(VMDK4_HEADER_SIZE);
  h.writeUInt32LE(compress ? 3 : zeroedGrain ? 2 : 1, 0);
  h.writeUInt32LE(VMDK4_FLAG_RGD | VMDK4_FLAG_NL_DETECT | (compress ? VMDK4_FLAG_COMPRESS | VMDK4_FLAG_MARKER : 0) | (zeroedGrain ? VMDK4_FLAG_ZERO_GRAIN : 0), 4);
  h.writeBigUInt64LE(BigInt(capacity), 8);
  h.writeBigUInt64LE(BigInt(GRANULARITY), 16);
  h.writeBigUInt64LE(BigInt(descOffset), 24);
  h.writeBigUInt64LE(BigInt(descSize), 32);
  h.writeUInt32LE(GTES_PER_GT, 40);
  h.writeBigUInt64LE(BigInt(rgdOffset), 44);
  h.writeBigUInt64LE(BigInt(gdOffset), 52);
  h.writeBigUInt64LE(BigInt(grainOffset), 60);
  // filler[1] at 68, then check_bytes.
  h.set([0x0a, 0x20, 0x0d, 0x0a], 69);
  h.writeUInt16LE(compress ? VMDK4_COMPRESSION_DEFLATE : 0, 73);

  // The grain directory and its backup, each pointing at the grain tables that follow it.
  const directory = (start: number) => {
    const gd = Buffer.alloc(gdSectors * SECTOR);
    for (let i = 0; i < gtCount; i++) gd.writeUInt32LE(start + gdSectors + i * gtSize, i * 4);
    return gd;
  };
  const chunks = [
    { offset: 0, bytes: magic },
    { offset: 4, bytes: h },
  ];
  // blk_truncate to the first grain comes between the header and the directories; it adds no data.
  if (gdSectors > 0) {
    chunks.push({ offset: rgdOffset * SECTOR, bytes: directory(rgdOffset) });
    chunks.push({ offset: gdOffset * SECTOR, bytes: directory(gdOffset) });
  }
  return { chunks, length: grainOffset * SECTOR };
}

/** A flat extent: file-posix grows the empty file and writes its first block (`allocate_first_block`). */
function flatExtent(filesize: number): ImageLayout {
  if (filesize === 0) return { chunks: [], length: 0 };
  return { chunks: [{ offset: 0, bytes: Buffer.alloc(filesize < 4096 ? 512 : 4096) }], length: filesize };
}

/** `filename_decompose`: the name's directory part is the caller's; prefix and postfix split at the last '.'. */
function decompose(path: string): { prefix: string; postfix: string } {
  const base = path.slice(path.lastIndexOf("/") + 1);
  const dot = base.lastIndexOf(".");
  return dot < 0 ? { prefix: base, postfix: "" } : { prefix: base.slice(0, dot), postfix: base.slice(dot) };
}

/** `qemu-img create -f vmdk`. */
/**
 * What vmdk_co_do_create takes from the backing file: it opens it beside the image (probing its
 * format, which must be vmdk) and reads its CID. The model reads the descriptor where vmdk_open
 * finds it (after a sparse header, or the whole file) without opening the image further.
 */
function backingParent(backingFile: string, around: ImageSurroundings | undefined): { cid: number } {
  if (!around) throw new ImageSpecError("the model needs the files around a vmdk image to read its backing file's CID");
  const full = isAbsolute(backingFile) ? backingFile : join(dirname(around.absPath), backingFile);
  const head = around.read(full, 0, PROBE_BUF_SIZE);
  if (head === undefined) throw new ImageSpecError(`Could not open '${full}': No such file or directory`);
  if (vmdkProbe(head) === 0) throw new ImageSpecError(`Invalid backing file format: ${probeDriver(head, full)?.name ?? "raw"}. Must be vmdk`);
  const magic = head.readUInt32BE(0);
  const descOffset = magic === VMDK4_MAGIC || magic === VMDK3_MAGIC ? 0x200 : 0;
  const desc = around.read(full, descOffset, DESC_SIZE) ?? Buffer.alloc(0);
  const cid = readCid(cString(desc.subarray(0, DESC_SIZE - 1)), false);
  if (cid === undefined) throw new ImageSpecError("Failed to read parent CID");
  return { cid };
}

/** `qemu-img create -f vmdk`; `around` is needed only for a backing file. */
export function vmdkImage(spec: ImageSpec, size: number, around?: ImageSurroundings): ImageLayout {
  if (spec.dataFile !== undefined) throw new ImageSpecError("Invalid parameter 'data_file'");
  if (spec.backingFile !== undefined && spec.backingFormat !== undefined && spec.backingFormat !== "vmdk") {
    throw new ImageSpecError("backing_file must be a vmdk image");
  }
  const o = readOptions(spec);
  let hwVersion = o.hwVersion;
  if (o.compat6) {
    if (hwVersion !== undefined) throw new ImageSpecError("compat6 cannot be enabled with hwversion set");
    hwVersion = "6";
  }
  hwVersion ??= "4";
  const heads = o.adapterType === "ide" ? 16 : 255;
  const split = o.subformat === "twoGbMaxExtentFlat" || o.subformat === "twoGbMaxExtentSparse";
  const flat = o.subformat === "monolithicFlat" || o.subformat === "twoGbMaxExtentFlat";
  const compress = o.subformat === "streamOptimized";
  if (flat && spec.backingFile !== undefined) throw new ImageSpecError("Flat image can't have backing file");
  if (flat && o.zeroedGrain) throw new ImageSpecError("Flat image can't enable zeroed grain");
  const parent = spec.backingFile === undefined ? undefined : backingParent(spec.backingFile, around);

  const { prefix, postfix } = decompose(spec.path);
  const lineFor = (bytes: number, name: string) => (flat ? `RW ${divRoundUp(bytes, SECTOR)} FLAT "${name}" 0\n` : `RW ${divRoundUp(bytes, SECTOR)} SPARSE "${name}"\n`);
  const mainName = `${prefix}${postfix}`;
  let extentLines = "";
  const siblings: { name: string; layout: ImageLayout }[] = [];
  // The descriptor's own file: the whole image when monolithic sparse, else a sparse header of
  // capacity 0 (split sparse) or nothing (flat) that the descriptor then overwrites.
  const monolithic = !split && !flat;
  const first = flat ? flatExtent(0) : sparseExtent(monolithic ? size : 0, compress, o.zeroedGrain);
  let created = monolithic ? size : 0;
  if (monolithic) extentLines += lineFor(size, mainName);
  const extentSize = split ? SPLIT_SIZE : size;
  for (let idx = 1; created < size; idx++) {
    const cur = Math.min(size - created, extentSize);
    const name = split ? `${prefix}-${flat ? "f" : "s"}${String(idx).padStart(3, "0")}${postfix}` : `${prefix}-flat${postfix}`;
    siblings.push({ name, layout: flat ? flatExtent(cur) : sparseExtent(cur, compress, o.zeroedGrain) });
    extentLines += lineFor(cur, name);
    created += cur;
  }
  const desc =
    "# Disk DescriptorFile\n" +
    "version=1\n" +
    `CID=${cidFor(spec.path).toString(16)}\n` +
    `parentCID=${(parent?.cid ?? 0xffffffff).toString(16)}\n` +
    `createType="${o.subformat}"\n` +
    // The hint has no newline of its own: it takes the place of the blank line.
    (parent ? `parentFileNameHint="${spec.backingFile}"` : "") +
    "\n" +
    "# Extent description\n" +
    extentLines +
    "\n" +
    "# The Disk Data Base\n" +
    "#DDB\n" +
    "\n" +
    `ddb.virtualHWVersion = "${hwVersion}"\n` +
    `ddb.geometry.cylinders = "${Math.floor(size / (63 * heads * SECTOR))}"\n` +
    `ddb.geometry.heads = "${heads}"\n` +
    'ddb.geometry.sectors = "63"\n' +
    `ddb.adapterType = "${o.adapterType}"\n` +
    `ddb.toolsVersion = "${o.toolsVersion}"\n`;
  const descBytes = Buffer.from(desc, "utf8");
  const main: ImageLayout = monolithic
    ? { chunks: [...first.chunks, { offset: 0x200, bytes: descBytes }], length: Math.max(first.length, 0x200 + descBytes.length) }
    : // Written at 0, then truncated to its length (no sector padding for a descriptor file).
      { chunks: [...first.chunks, { offset: 0, bytes: descBytes }], length: descBytes.length };
  return siblings.length > 0 ? { ...main, siblings } : main;
}
