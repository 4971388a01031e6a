/**
 * qcow2's persistent dirty bitmaps on disk (block/qcow2-bitmap.c): the bitmap directory the
 * header's bitmaps extension points at, each bitmap's table of data clusters, and the updates of
 * directory and header, with QEMU's allocations and writes in QEMU's order, so that an image the
 * model stores bitmaps in is laid out as QEMU's is.
 *
 * Failures are thrown as QEMU reports them: an `errp` message as a QmpFailure, a negative errno
 * as an IoError for the caller to word.
 */
import { AUTOCLEAR_BITMAPS } from "../../images/qcow2-format.js";
import type { DirtyBitmap } from "../../jobs/dirty-bitmap.js";
import { fail } from "../../qmp-failure.js";
import { Data } from "../data.js";
import { Errno, IoError, ioFail } from "../io-error.js";
import type { Qcow2Image } from "./qcow2-image.js";

export const BME_FLAG_IN_USE = 1;
export const BME_FLAG_AUTO = 2;
const BME_RESERVED_FLAGS = 0xfffffffc;
const BME_MAX_TABLE_SIZE = 0x8000000;
const BME_MAX_PHYS_SIZE = 0x20000000;
export const BME_MAX_GRANULARITY_BITS = 31;
export const BME_MIN_GRANULARITY_BITS = 9;
export const BME_MAX_NAME_SIZE = 1023;
const BME_TABLE_ENTRY_RESERVED_MASK = 0xff000000000001fen;
const BME_TABLE_ENTRY_OFFSET_MASK = 0x00fffffffffffe00n;
const BME_TABLE_ENTRY_FLAG_ALL_ONES = 1n;
export const QCOW2_MAX_BITMAPS = 65535;
export const QCOW2_MAX_BITMAP_DIRECTORY_SIZE = 1024 * QCOW2_MAX_BITMAPS;
/** sizeof(Qcow2BitmapDirEntry): table offset and size, flags, type, granularity bits, name size, extra data size. */
const DIR_ENTRY_HEADER = 24;
/** BT_DIRTY_TRACKING_BITMAP. */
const BT_DIRTY_TRACKING_BITMAP = 1;

/** A bitmap of the directory (Qcow2Bitmap): where its table is, its flags, and the in-memory bitmap it stands for. */
export interface Qcow2Bitmap {
  name: string;
  table: { offset: number; size: number };
  flags: number;
  granularityBits: number;
  dirty?: DirtyBitmap;
}

/** What the bitmap code needs besides the image: the node's length and whether QCOW2_DISCARD_OTHER passes down. */
export interface BitmapContext {
  img: Qcow2Image;
  /** bdrv_getlength of the qcow2 node. */
  length: number;
  /** s->discard_passthrough[QCOW2_DISCARD_OTHER] (pass-discard-other). */
  discardOther: boolean;
}

/** `calc_dir_entry_size`: the entry and its name, padded to 8 bytes. */
export function dirEntrySize(name: string): number {
  return Math.ceil((DIR_ENTRY_HEADER + Buffer.byteLength(name)) / 8) * 8;
}

/** `get_bitmap_bytes_needed`. */
function bitmapBytesNeeded(len: number, granularity: number): number {
  return Math.ceil(Math.ceil(len / granularity) / 8);
}

/** `bdrv_dirty_bitmap_serialization_size` of [offset, offset + bytes): whole 64-bit words of chunks. */
function serializationSize(bitmap: DirtyBitmap, offset: number, bytes: number): number {
  if (bytes === 0) return 0;
  const first = Math.floor(offset / bitmap.granularity / 64);
  const last = Math.floor(Math.floor((offset + bytes - 1) / bitmap.granularity) / 64);
  return (last - first + 1) * 8;
}

/** `check_constraints_on_bitmap`, an `errp` message or undefined. */
export function bitmapConstraintProblem(ctx: BitmapContext, name: string, granularity: number): string | undefined {
  const bits = Math.log2(granularity);
  if (bits > BME_MAX_GRANULARITY_BITS) return `Granularity exceeds maximum (${2 ** BME_MAX_GRANULARITY_BITS} bytes)`;
  if (bits < BME_MIN_GRANULARITY_BITS) return `Granularity is under minimum (${2 ** BME_MIN_GRANULARITY_BITS} bytes)`;
  const bytes = bitmapBytesNeeded(ctx.length, granularity);
  if (bytes > BME_MAX_PHYS_SIZE || bytes > BME_MAX_TABLE_SIZE * ctx.img.clusterSize) return "Too much space will be occupied by the bitmap. Use larger granularity";
  if (Buffer.byteLength(name) > BME_MAX_NAME_SIZE) return `Name length exceeds maximum (${BME_MAX_NAME_SIZE} characters)`;
  return undefined;
}

interface DirEntry {
  tableOffset: number;
  tableSize: number;
  flags: number;
  type: number;
  granularityBits: number;
  nameSize: number;
  extraDataSize: number;
}

/** `check_dir_entry`: whether QEMU takes the entry (an image this long). */
function dirEntryOk(ctx: BitmapContext, e: DirEntry): boolean {
  const cs = ctx.img.clusterSize;
  const bad =
    e.tableSize === 0 ||
    e.tableOffset === 0 ||
    e.tableOffset % cs !== 0 ||
    e.tableSize > BME_MAX_TABLE_SIZE ||
    e.granularityBits > BME_MAX_GRANULARITY_BITS ||
    e.granularityBits < BME_MIN_GRANULARITY_BITS ||
    (e.flags & BME_RESERVED_FLAGS) !== 0 ||
    e.nameSize > BME_MAX_NAME_SIZE ||
    e.type !== BT_DIRTY_TRACKING_BITMAP;
  if (bad) return false;
  const phys = e.tableSize * cs;
  if (phys > BME_MAX_PHYS_SIZE) return false;
  // A valid bitmap's table must cover the whole image.
  return (e.flags & BME_FLAG_IN_USE) !== 0 || ctx.length <= phys * 8 * 2 ** e.granularityBits;
}

/** `bitmap_list_load`: the directory the header names, checked entry by entry. */
export function loadBitmapList(ctx: BitmapContext): Qcow2Bitmap[] {
  const { img } = ctx;
  const { offset, size, count } = img.bitmapDirectory;
  if (size === 0) fail("Requested bitmap directory size is zero");
  if (size > QCOW2_MAX_BITMAP_DIRECTORY_SIZE) fail("Requested bitmap directory size is too big");
  let dir: Buffer;
  try {
    dir = img.read(offset, size);
  } catch (e) {
    if (e instanceof IoError) fail(`Failed to read bitmap directory: ${e.message}`);
    throw e;
  }
  const list: Qcow2Bitmap[] = [];
  let p = 0;
  while (p < size) {
    if (p + DIR_ENTRY_HEADER > size) fail("Broken bitmap directory");
    if (list.length + 1 > count) fail("More bitmaps found than specified in header extension");
    const e: DirEntry = {
      tableOffset: Number(dir.readBigUInt64BE(p)),
      tableSize: dir.readUInt32BE(p + 8),
      flags: dir.readUInt32BE(p + 12),
      type: dir[p + 16]!,
      granularityBits: dir[p + 17]!,
      nameSize: dir.readUInt16BE(p + 18),
      extraDataSize: dir.readUInt32BE(p + 20),
    };
    const next = p + Math.ceil((DIR_ENTRY_HEADER + e.nameSize + e.extraDataSize) / 8) * 8;
    if (next > size) fail("Broken bitmap directory");
    // The name follows the extra data; the error names it with %.*s, so it stops at a NUL.
    const nameField = dir.subarray(p + DIR_ENTRY_HEADER + e.extraDataSize, p + DIR_ENTRY_HEADER + e.extraDataSize + e.nameSize);
    const nul = nameField.indexOf(0);
    const name = (nul < 0 ? nameField : nameField.subarray(0, nul)).toString("utf8");
    if (e.extraDataSize !== 0) fail("Bitmap extra data is not supported");
    if (!dirEntryOk(ctx, e)) fail(`Bitmap '${name}' doesn't satisfy the constraints`);
    list.push({ name, table: { offset: e.tableOffset, size: e.tableSize }, flags: e.flags, granularityBits: e.granularityBits });
    p = next;
  }
  if (list.length !== count) fail("Less bitmaps found than specified in header extension");
  return list;
}

/** `bitmap_table_load`: the table's entries, each checked (-EINVAL when one is not valid). */
export function loadBitmapTable(ctx: BitmapContext, table: { offset: number; size: number }): bigint[] {
  const raw = ctx.img.read(table.offset, table.size * 8);
  const entries: bigint[] = [];
  for (let i = 0; i < table.size; i++) {
    const entry = raw.readBigUInt64BE(i * 8);
    if (!tableEntryOk(entry, ctx.img.clusterSize)) ioFail(Errno.EINVAL);
    entries.push(entry);
  }
  return entries;
}

/** `check_table_entry`. */
function tableEntryOk(entry: bigint, clusterSize: number): boolean {
  if (entry & BME_TABLE_ENTRY_RESERVED_MASK) return false;
  const offset = entry & BME_TABLE_ENTRY_OFFSET_MASK;
  return offset === 0n || ((entry & BME_TABLE_ENTRY_FLAG_ALL_ONES) === 0n && offset % BigInt(clusterSize) === 0n);
}

/** `clear_bitmap_table`: each data cluster goes back, discarded below (QCOW2_DISCARD_ALWAYS). */
function clearBitmapTable(ctx: BitmapContext, entries: bigint[]): void {
  for (let i = 0; i < entries.length; i++) {
    const addr = Number(entries[i]! & BME_TABLE_ENTRY_OFFSET_MASK);
    if (!addr) continue;
    ctx.img.refcounts.free(addr, ctx.img.clusterSize, true);
    entries[i] = 0n;
  }
}

/** `free_bitmap_clusters`: the data clusters, then the table (QCOW2_DISCARD_OTHER). */
export function freeBitmapClusters(ctx: BitmapContext, table: { offset: number; size: number }): void {
  const entries = loadBitmapTable(ctx, table);
  clearBitmapTable(ctx, entries);
  ctx.img.refcounts.free(table.offset, table.size * 8, ctx.discardOther);
  table.offset = 0;
  table.size = 0;
}

/**
 * `load_bitmap_data` into `bitmap` (empty): each table entry covers a cluster's worth of bits; an
 * entry without a cluster is all zeros, or all ones with its flag. -EINVAL when the table's size
 * does not fit the bitmap.
 */
export function loadBitmapData(ctx: BitmapContext, entries: bigint[], tableSize: number, bitmap: DirtyBitmap): void {
  const cs = ctx.img.clusterSize;
  const tabSize = Math.ceil(serializationSize(bitmap, 0, bitmap.size) / cs);
  if (tabSize !== tableSize || tabSize > BME_MAX_TABLE_SIZE) ioFail(Errno.EINVAL);
  const limit = bitmap.granularity * cs * 8;
  for (let i = 0, offset = 0; i < tabSize; i++, offset += limit) {
    const count = Math.min(bitmap.size - offset, limit);
    const entry = entries[i]!;
    const dataOffset = Number(entry & BME_TABLE_ENTRY_OFFSET_MASK);
    if (dataOffset === 0) {
      if (entry & BME_TABLE_ENTRY_FLAG_ALL_ONES) bitmap.deserializeOnes(offset, count);
    } else {
      bitmap.deserializePart(ctx.img.read(dataOffset, cs), offset, count);
    }
  }
}

/** Run `body`, turning an errno into the `errp` message `what` (error_setg_errno). */
export function worded<T>(what: string, body: () => T): T {
  try {
    return body();
  } catch (e) {
    if (e instanceof IoError) fail(`${what}: ${e.message}`);
    throw e;
  }
}

/**
 * `store_bitmap_data`: a cluster for each cluster's worth of bits with any bit set, allocated and
 * written in order; all-zero stretches get no cluster. Returns the table.
 */
function storeBitmapData(ctx: BitmapContext, bitmap: DirtyBitmap, name: string): bigint[] {
  const { img } = ctx;
  const cs = img.clusterSize;
  const bmSize = bitmap.size;
  const tbSize = Math.ceil(serializationSize(bitmap, 0, bmSize) / cs);
  if (tbSize > BME_MAX_TABLE_SIZE || tbSize * cs > BME_MAX_PHYS_SIZE) fail(`Bitmap '${name}' is too big`);
  // g_try_new0 of no elements (a bitmap of an empty image) is NULL.
  if (tbSize === 0) fail("No memory");
  const tb: bigint[] = new Array<bigint>(tbSize).fill(0n);
  const limit = bitmap.granularity * cs * 8;
  try {
    for (let at = bitmap.next(0); at !== undefined && at < bmSize; ) {
      const cluster = Math.floor(at / limit);
      const offset = cluster * limit;
      const end = Math.min(bmSize, offset + limit);
      const off = worded(`Failed to allocate clusters for bitmap '${name}'`, () => img.allocClusters(cs));
      tb[cluster] = BigInt(off);
      const buf = Buffer.alloc(cs);
      bitmap.serializePart(offset, end - offset).copy(buf);
      worded("Qcow2 overlap check failed", () => img.preWriteOverlapCheck(off, cs));
      worded(`Failed to write bitmap '${name}' to file`, () => img.write(off, Data.bytes(buf)));
      // bdrv_dirty_bitmap_next_dirty finds nothing from the bitmap's end on; DirtyBitmap.next
      // answers with the start of a dirty chunk, which for a granularity past the image's size
      // is before `end`.
      at = end < bmSize ? bitmap.next(end) : undefined;
    }
  } catch (e) {
    clearBitmapTable(ctx, tb);
    throw e;
  }
  return tb;
}

/** `store_bitmap`: the data, then the table, allocated and written after it. */
export function storeBitmap(ctx: BitmapContext, bm: Qcow2Bitmap): void {
  const { img } = ctx;
  const tb = storeBitmapData(ctx, bm.dirty!, bm.name);
  let tbOffset = 0;
  try {
    tbOffset = worded(`Failed to allocate clusters for bitmap '${bm.name}'`, () => img.allocClusters(tb.length * 8));
    worded("Qcow2 overlap check failed", () => img.preWriteOverlapCheck(tbOffset, tb.length * 8));
    const raw = Buffer.alloc(tb.length * 8);
    tb.forEach((entry, i) => raw.writeBigUInt64BE(entry, i * 8));
    worded(`Failed to write bitmap '${bm.name}' to file`, () => img.write(tbOffset, Data.bytes(raw)));
  } catch (e) {
    clearBitmapTable(ctx, tb);
    if (tbOffset > 0) img.refcounts.free(tbOffset, tb.length * 8, ctx.discardOther);
    throw e;
  }
  bm.table = { offset: tbOffset, size: tb.length };
}

/**
 * `bitmap_list_store`: the directory, written where it was (`inPlace`, the same size) or into new
 * clusters. Returns where it went.
 */
function storeBitmapList(ctx: BitmapContext, list: Qcow2Bitmap[], inPlace: boolean): { offset: number; size: number } {
  const { img } = ctx;
  const size = list.reduce((sum, bm) => sum + dirEntrySize(bm.name), 0);
  if (size === 0 || size > QCOW2_MAX_BITMAP_DIRECTORY_SIZE) ioFail(Errno.EINVAL);
  if (inPlace && (img.bitmapDirectory.size !== size || img.bitmapDirectory.offset === 0)) ioFail(Errno.EINVAL);
  const dir = Buffer.alloc(size);
  let p = 0;
  for (const bm of list) {
    const name = Buffer.from(bm.name, "utf8");
    const e: DirEntry = {
      tableOffset: bm.table.offset,
      tableSize: bm.table.size,
      flags: bm.flags,
      type: BT_DIRTY_TRACKING_BITMAP,
      granularityBits: bm.granularityBits,
      nameSize: name.length,
      extraDataSize: 0,
    };
    dir.writeBigUInt64BE(BigInt(e.tableOffset), p);
    dir.writeUInt32BE(e.tableSize, p + 8);
    dir.writeUInt32BE(e.flags, p + 12);
    dir[p + 16] = e.type;
    dir[p + 17] = e.granularityBits;
    dir.writeUInt16BE(e.nameSize, p + 18);
    name.copy(dir, p + DIR_ENTRY_HEADER);
    if (!dirEntryOk(ctx, e)) ioFail(Errno.EINVAL);
    p += dirEntrySize(bm.name);
  }
  const offset = inPlace ? img.bitmapDirectory.offset : img.allocClusters(size);
  try {
    img.preWriteOverlapCheck(offset, size, inPlace ? "bitmap directory" : undefined);
    img.write(offset, Data.bytes(dir));
  } catch (e) {
    if (!inPlace && offset > 0) img.refcounts.free(offset, size, ctx.discardOther);
    throw e;
  }
  return { offset, size };
}

/**
 * `update_ext_header_and_dir_in_place`: the directory rewritten where it is (new flags only), with
 * the autoclear bit off while it is, so that a crash in between leaves the bitmaps inconsistent
 * rather than wrong.
 */
export function updateDirectoryInPlace(ctx: BitmapContext, list: Qcow2Bitmap[]): void {
  const { img } = ctx;
  if (!(img.autoclear & AUTOCLEAR_BITMAPS) || list.length === 0 || list.length !== img.bitmapDirectory.count) ioFail(Errno.EINVAL);
  img.autoclear &= ~AUTOCLEAR_BITMAPS;
  img.updateHeaderSync();
  storeBitmapList(ctx, list, true);
  img.updateHeaderSync();
  img.autoclear |= AUTOCLEAR_BITMAPS;
  img.updateHeaderSync();
}

/**
 * `update_ext_header_and_dir`: a new directory (none for an empty list) in new clusters, the caches
 * flushed, the header pointed at it; then the old directory's clusters go. A failure puts the
 * header's fields back as they were.
 */
export function updateDirectory(ctx: BitmapContext, list: Qcow2Bitmap[]): void {
  const { img } = ctx;
  const old = { ...img.bitmapDirectory };
  const oldAutoclear = img.autoclear;
  let fresh = { offset: 0, size: 0 };
  try {
    if (list.length > 0) {
      if (list.length > QCOW2_MAX_BITMAPS) ioFail(Errno.EINVAL);
      fresh = storeBitmapList(ctx, list, false);
      img.flushCaches();
      img.autoclear |= AUTOCLEAR_BITMAPS;
    } else {
      img.autoclear &= ~AUTOCLEAR_BITMAPS;
    }
    img.bitmapDirectory = { count: list.length, ...fresh };
    img.updateHeaderSync();
  } catch (e) {
    if (fresh.offset > 0) img.refcounts.free(fresh.offset, fresh.size, ctx.discardOther);
    img.bitmapDirectory = old;
    img.autoclear = oldAutoclear;
    throw e;
  }
  if (old.size > 0) img.refcounts.free(old.offset, old.size, ctx.discardOther);
}
