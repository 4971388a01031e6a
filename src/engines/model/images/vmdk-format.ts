/**
 * VMDK's on-disk pieces as QEMU 7.2's block/vmdk.c reads them: the magics, the VMDK3 ("COWD") and
 * VMDK4 ("KDMV") sparse headers, and the text descriptor with its C-string searches (`strstr`,
 * `sscanf`) reproduced as vmdk.c does them, quirks included.
 */

/** 'COWD': a VMware 3 (VMFS sparse) extent. */
export const VMDK3_MAGIC = 0x434f5744;
/** 'KDMV': a VMware 4 sparse extent (monolithicSparse, streamOptimized, twoGbMaxExtentSparse). */
export const VMDK4_MAGIC = 0x4b444d56;
export const VMDK4_COMPRESSION_DEFLATE = 1;
export const VMDK4_FLAG_NL_DETECT = 1 << 0;
export const VMDK4_FLAG_RGD = 1 << 1;
export const VMDK4_FLAG_ZERO_GRAIN = 1 << 2;
export const VMDK4_FLAG_COMPRESS = 1 << 16;
export const VMDK4_FLAG_MARKER = 1 << 17;
export const VMDK4_GD_AT_END = 0xffffffffffffffffn;
/** DESC_SIZE: the part of the image vmdk_read_cid and vmdk_parent_open search. */
export const DESC_SIZE = 20 * 512;
/** sizeof(VMDK4Header), which follows the 4-byte magic. */
export const VMDK4_HEADER_SIZE = 75;
/** sizeof(VMDK3Header). */
export const VMDK3_HEADER_SIZE = 40;

/** VMDK4Header (little-endian), its fields as numbers (gd_offset also as the raw 64-bit value). */
export interface Vmdk4Header {
  version: number;
  flags: number;
  capacity: number;
  granularity: number;
  descOffset: number;
  descSize: number;
  numGtesPerGt: number;
  rgdOffset: number;
  gdOffset: bigint;
  grainOffset: number;
  compressAlgorithm: number;
}

/** VMDK3Header's fields vmdk_open_vmfs_sparse uses. */
export interface Vmdk3Header {
  diskSectors: number;
  granularity: number;
  l1dirOffset: number;
  l1dirSize: number;
}

/** A 64-bit field as a number; values past 2^53 lose precision, which only matters for corrupt images. */
function u64(buf: Buffer, offset: number): number {
  return Number(buf.readBigUInt64LE(offset));
}

/** The VMDK4Header in `buf` (the VMDK4_HEADER_SIZE bytes after the magic). */
export function parseVmdk4Header(buf: Buffer): Vmdk4Header {
  return {
    version: buf.readUInt32LE(0),
    flags: buf.readUInt32LE(4),
    capacity: u64(buf, 8),
    granularity: u64(buf, 16),
    descOffset: u64(buf, 24),
    descSize: u64(buf, 32),
    numGtesPerGt: buf.readUInt32LE(40),
    rgdOffset: u64(buf, 44),
    gdOffset: buf.readBigUInt64LE(52),
    grainOffset: u64(buf, 60),
    // filler[1] and check_bytes[4] come between.
    compressAlgorithm: buf.readUInt16LE(73),
  };
}

/** The VMDK3Header in `buf` (the VMDK3_HEADER_SIZE bytes after the magic). */
export function parseVmdk3Header(buf: Buffer): Vmdk3Header {
  return { diskSectors: buf.readUInt32LE(8), granularity: buf.readUInt32LE(12), l1dirOffset: buf.readUInt32LE(16), l1dirSize: buf.readUInt32LE(20) };
}

/** VMDKSESparseConstHeader, the fields vmdk_open_se_sparse checks or uses (little-endian u64s). */
export interface SeSparseConstHeader {
  magic: bigint;
  version: bigint;
  capacity: number;
  grainSize: bigint;
  grainTableSize: bigint;
  flags: bigint;
  reserved: bigint[];
  volatileHeaderOffset: number;
  grainDirOffset: number;
  grainDirSize: number;
  /** pad[304] is all zeros. */
  padZero: boolean;
}

const SESPARSE_CONST_HEADER_MAGIC = 0xcafebaben;
const SESPARSE_VOLATILE_HEADER_MAGIC = 0xcafecafen;

/** The seSparse const header in `buf` (its 512 bytes at offset 0). */
export function parseSeSparseConstHeader(buf: Buffer): SeSparseConstHeader {
  const q = (i: number) => buf.readBigUInt64LE(i * 8);
  return {
    magic: q(0),
    version: q(1),
    capacity: Number(q(2)),
    grainSize: q(3),
    grainTableSize: q(4),
    flags: q(5),
    reserved: [q(6), q(7), q(8), q(9)],
    volatileHeaderOffset: Number(q(10)),
    grainDirOffset: Number(q(16)),
    grainDirSize: Number(q(17)),
    padZero: buf.subarray(26 * 8, 512).every((b) => b === 0),
  };
}

const hex16 = (v: bigint) => `0x${v.toString(16).padStart(16, "0")}`;

/** `check_se_sparse_const_header`'s objection, in its order, or undefined. */
export function seSparseConstProblem(h: SeSparseConstHeader): string | undefined {
  // v7.2.0's vmdk.c printed the flags here; the 7.2 stable releases print the magic.
  if (h.magic !== SESPARSE_CONST_HEADER_MAGIC) return `Bad const header magic: ${hex16(h.magic)}`;
  if (h.version !== 0x0000000200000001n) return `Unsupported version: ${hex16(h.version)}`;
  if (h.grainSize !== 8n) return `Unsupported grain size: ${h.grainSize}`;
  if (h.grainTableSize !== 64n) return `Unsupported grain table size: ${h.grainTableSize}`;
  if (h.flags !== 0n) return `Unsupported flags: ${hex16(h.flags)}`;
  if (h.reserved.some((r) => r !== 0n)) return `Unsupported reserved bits: ${h.reserved.map(hex16).join(" ")}`;
  if (!h.padZero) return "Unsupported non-zero const header padding";
  return undefined;
}

/** `check_se_sparse_volatile_header` on the volatile header's 512 bytes, or undefined. */
export function seSparseVolatileProblem(buf: Buffer): string | undefined {
  const magic = buf.readBigUInt64LE(0);
  if (magic !== SESPARSE_VOLATILE_HEADER_MAGIC) return `Bad volatile header magic: ${hex16(magic)}`;
  if (buf.readBigUInt64LE(24) !== 0n) return "Image is dirty, Replaying journal not supported";
  if (!buf.subarray(32, 512).every((b) => b === 0)) return "Unsupported non-zero volatile header padding";
  return undefined;
}

/** The bytes as the C string vmdk.c works on: up to the first NUL, one byte per character. */
export function cString(buf: Buffer): string {
  const nul = buf.indexOf(0);
  return buf.toString("latin1", 0, nul < 0 ? buf.length : nul);
}

/** `vmdk_probe`. */
export function vmdkProbe(buf: Buffer): number {
  if (buf.length < 4) return 0;
  const magic = buf.readUInt32BE(0);
  if (magic === VMDK3_MAGIC || magic === VMDK4_MAGIC) return 100;
  const end = buf.length;
  let p = 0;
  const startsWith = (s: string) => end - p >= s.length && buf.toString("latin1", p, p + s.length) === s;
  while (p < end) {
    const c = buf[p];
    if (c === 0x23 /* # */) {
      while (p < end && buf[p] !== 0x0a) p++;
      p++;
      continue;
    }
    if (c === 0x20) {
      while (p < end && buf[p] === 0x20) p++;
      if (p < end && buf[p] === 0x0d) p++;
      // Only blank lines may come before 'version='.
      if (p === end || buf[p] !== 0x0a) return 0;
      p++;
      continue;
    }
    for (const v of ["1", "2", "3"]) if (startsWith(`version=${v}\n`) || startsWith(`version=${v}\r\n`)) return 100;
    return 0;
  }
  return 0;
}

/** `vmdk_parse_description`: the quoted value after `name="`, or undefined (VMDK_ERROR). */
export function parseDescription(desc: string, name: string, bufSize: number): string | undefined {
  const pos = desc.indexOf(name);
  if (pos < 0) return undefined;
  // Skips the two characters after the name (`="`) whatever they are.
  const start = pos + name.length + 2;
  if (start >= desc.length) return undefined;
  const close = desc.indexOf('"', start);
  if (close < 0 || bufSize < close - start + 1) return undefined;
  return desc.slice(start, close);
}

const isSpace = (c: string | undefined) => c === " " || c === "\t" || c === "\n" || c === "\v" || c === "\f" || c === "\r";

/** `sscanf(s, "%x")` into a uint32_t: whitespace, an optional sign and 0x, hex digits; undefined when none. */
function scanHex32(s: string): number | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX](?=[0-9a-fA-F]))?([0-9a-fA-F]+)/.exec(s);
  if (!m) return undefined;
  let v = BigInt(`0x${m[3]}`);
  // strtoul saturates at ULONG_MAX; the negation happens modulo 2^64.
  if (v > 0xffffffffffffffffn) v = 0xffffffffffffffffn;
  if (m[1] === "-") v = (0x10000000000000000n - v) & 0xffffffffffffffffn;
  return Number(v & 0xffffffffn);
}

/**
 * `vmdk_read_cid` on the descriptor text: the hex value after the first "CID" (or "parentCID") and
 * one more character; undefined for -EINVAL.
 */
export function readCid(desc: string, parent: boolean): number | undefined {
  const key = parent ? "parentCID" : "CID";
  const pos = desc.indexOf(key);
  if (pos < 0) return undefined;
  return scanHex32(desc.slice(pos + key.length + 1));
}

/** bs->auto_backing_file is a PATH_MAX buffer. */
const PATH_MAX = 4096;

/**
 * `vmdk_parent_open` on the descriptor text: the parentFileNameHint, null when there is none, or
 * undefined for -EINVAL (no closing quote, or too long).
 */
export function parentFileNameHint(desc: string): string | null | undefined {
  const key = "parentFileNameHint";
  const pos = desc.indexOf(key);
  if (pos < 0) return null;
  const start = pos + key.length + 2;
  const close = desc.indexOf('"', start);
  if (close < 0 || close - start > PATH_MAX - 1) return undefined;
  return desc.slice(start, close);
}

/** One line's `sscanf("%10s %lld %10s \"%511[^\n\r\"]\" %lld")`: the fields converted before the first failure. */
export interface ExtentScan {
  matches: number;
  access: string;
  sectors: number;
  type: string;
  fname: string;
  flatOffset: number;
}

/**
 * The scan vmdk_parse_extents does from the start of a line. Like sscanf it runs on into the
 * following lines where a directive skips whitespace.
 */
export function scanExtentLine(text: string): ExtentScan {
  const out: ExtentScan = { matches: 0, access: "", sectors: 0, type: "", fname: "", flatOffset: -1 };
  let i = 0;
  const skipWs = () => {
    while (i < text.length && isSpace(text[i])) i++;
  };
  const str = (max: number): string | undefined => {
    skipWs();
    const start = i;
    while (i < text.length && i - start < max && !isSpace(text[i])) i++;
    return i > start ? text.slice(start, i) : undefined;
  };
  const int64 = (): number | undefined => {
    skipWs();
    const m = /^[+-]?[0-9]+/.exec(text.slice(i, i + 40));
    if (!m) return undefined;
    i += m[0].length;
    let v = BigInt(m[0]);
    // strtoll saturates.
    if (v > 0x7fffffffffffffffn) v = 0x7fffffffffffffffn;
    if (v < -0x8000000000000000n) v = -0x8000000000000000n;
    return Number(v);
  };
  const access = str(10);
  if (access === undefined) return out;
  out.access = access;
  out.matches = 1;
  const sectors = int64();
  if (sectors === undefined) return out;
  out.sectors = sectors;
  out.matches = 2;
  const type = str(10);
  if (type === undefined) return out;
  out.type = type;
  out.matches = 3;
  skipWs();
  if (text[i] !== '"') return out;
  i++;
  const start = i;
  while (i < text.length && i - start < 511 && text[i] !== "\n" && text[i] !== "\r" && text[i] !== '"') i++;
  if (i === start) return out;
  out.fname = text.slice(start, i);
  out.matches = 4;
  if (text[i] !== '"') return out;
  i++;
  const flat = int64();
  if (flat === undefined) return out;
  out.flatOffset = flat;
  out.matches = 5;
  return out;
}

/** `next_line`: the start of the next line, or the end. */
export function nextLine(text: string, p: number): number {
  const nl = text.indexOf("\n", p);
  return nl < 0 ? text.length : nl + 1;
}
