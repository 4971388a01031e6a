/**
 * The metadata of one open qcow2 image, as block/qcow2-cluster.c and block/qcow2-refcount.c keep
 * and change it: the L1 table, L2 tables, refcount table and blocks, and the allocator's cursors
 * (`free_cluster_index`, `free_byte_offset`). The header, L1 and refcount tables are read when the
 * node opens (qcow2_do_open), L2 tables and refcount blocks when first needed, all through the
 * node's `file` child. A changed L2 slice or refcount block stays in its cache until it is written
 * back (writeCaches: at a flush, or when a new table is allocated; evicted from a full cache), as
 * QEMU's does (qcow2-cache.ts), with QEMU's dependencies between the two caches; the L1 table is
 * written at once, as QEMU writes it. Allocation follows QEMU's order exactly, so the model's images
 * are laid out as QEMU's are.
 *
 * Like QEMU's in-memory state, the tables stay with the node when a reopen gives it another
 * `file`: what was loaded is kept, what was not is read from the new file.
 */
import { endianness } from "node:os";
import type { DriverHost } from "../../drivers/driver.js";
import { type BdsNode, filteredChild } from "../../graph.js";
import { AUTOCLEAR_BITMAPS, H } from "../../images/qcow2-format.js";
import { HeaderUpdateError, rewriteHeaderCluster } from "../../images/update-header.js";
import { bdrvFlush, bdrvPdiscard, bdrvPreadv, bdrvPwritev } from "../block-io.js";
import { metadataRequest } from "../metadata-request.js";
import { Data } from "../data.js";
import { readMayWait } from "../request-waits.js";
import { Errno, IoError, ioFail, ModelIoUnsupportedError } from "../io-error.js";
import type { HeapBlock } from "../malloc-heap.js";
import { QemuAbort } from "../../qemu-would-crash.js";
import { clusterType, entryOffset, L1E_OFFSET_MASK, L2E_OFFSET_MASK, parseCompressed, QCOW_OFLAG_COPIED, REFT_OFFSET_MASK } from "./qcow2-layout.js";
import { Qcow2CacheSlots } from "./qcow2-cache.js";
import { cHex, type CorruptionOwner, signalCorruption } from "./qcow2-corruption.js";
import { type MetadataIo, Qcow2Refcounts } from "./qcow2-refcount.js";

/** Incompatible feature bits the model's data path cannot follow: compression type, extended L2. */
const UNSUPPORTED_INCOMPATIBLE = (1n << 3n) | (1n << 4n);
/** QCOW2_INCOMPAT_DIRTY. */
const INCOMPAT_DIRTY = 1n;
/** QCOW2_INCOMPAT_CORRUPT. */
const INCOMPAT_CORRUPT = 2n;
/** MIN_L2_CACHE_SIZE: the fewest entries qcow2_update_options_prepare gives the L2 cache. */
const MIN_L2_CACHE_ENTRIES = 2;

/** The metadata a write may overlap because it is that metadata's own (qcow2_pre_write_overlap_check's `ign`). */
export type OverlapIgnored = "refcount block" | "active L2 table" | "bitmap directory";

/** s->nb_bitmaps, s->bitmap_directory_size and s->bitmap_directory_offset. */
export interface BitmapDirectory {
  count: number;
  size: number;
  offset: number;
}

/** Qcow2BitmapHeaderExt as qcow2_update_header writes it: nb_bitmaps, reserved32, directory size and offset. */
function bitmapsExtension(d: BitmapDirectory): Buffer {
  const ext = Buffer.alloc(24);
  ext.writeUInt32BE(d.count, 0);
  ext.writeBigUInt64BE(BigInt(d.size), 8);
  ext.writeBigUInt64BE(BigInt(d.offset), 16);
  return ext;
}

/**
 * The refcount table: block offsets by index, 0 where none is allocated. A fresh image's table is a
 * whole cluster (8,192 entries at 64 KiB) read at every open with one entry set: only the entries
 * that are not zero are kept (a zeroed array of them all was most of what an open allocated).
 */
export class RefcountTable {
  readonly #offsets = new Map<number, number>();

  constructor(readonly length: number) {}

  get(index: number): number {
    return this.#offsets.get(index) ?? 0;
  }

  set(index: number, offset: number): void {
    this.#exact.delete(index);
    if (offset === 0) this.#offsets.delete(index);
    else this.#offsets.set(index, offset);
  }

  /** Entries past 2^53, which a number holds rounded, as the image has them. */
  readonly #exact = new Map<number, bigint>();

  /** The entry exactly (masked with REFT_OFFSET_MASK), for what QEMU prints of it. */
  exactAt(index: number): bigint {
    return this.#exact.get(index) ?? BigInt(this.get(index));
  }

  setExact(index: number, offset: bigint): void {
    this.set(index, Number(offset));
    this.#exact.set(index, offset);
  }

  /** The offsets of the refcount blocks, in table order. */
  blocks(): number[] {
    return [...this.#offsets].sort((a, b) => a[0] - b[0]).map(([, offset]) => offset);
  }

  /** Every entry, zeros included. */
  toArray(): number[] {
    const all = new Array<number>(this.length).fill(0);
    for (const [i, offset] of this.#offsets) all[i] = offset;
    return all;
  }
}

/**
 * The entries of `raw` as numbers, `Number(entry & REFT_OFFSET_MASK)` computed from the two 32-bit
 * halves, set in `table` from index `first` on. Runs of zero entries are skipped by comparing them
 * with zeros natively, and only the rest decoded (a BigInt per entry made this loop the model's
 * largest cost per open).
 */
export function refcountTableOffsets(raw: Buffer, table = new RefcountTable(raw.length / 8), first = 0): RefcountTable {
  const lowMask = Number(REFT_OFFSET_MASK & 0xffffffffn);
  const entries = raw.length / 8;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.length);
  for (let run = 0; run < entries; run += ZERO_RUN_ENTRIES) {
    const end = Math.min(entries, run + ZERO_RUN_ENTRIES);
    if (end - run === ZERO_RUN_ENTRIES && raw.subarray(run * 8, end * 8).equals(ZERO_RUN)) continue;
    for (let i = run; i < end; i++) {
      const hi = view.getUint32(i * 8);
      const lo = view.getUint32(i * 8 + 4);
      // hi * 2^32 is exact; the sum rounds once, as Number() of the BigInt does.
      if (hi >= 2 ** 21) table.setExact(first + i, (BigInt(hi) << 32n) | BigInt((lo & lowMask) >>> 0));
      else if (hi !== 0 || lo !== 0) table.set(first + i, hi * 2 ** 32 + ((lo & lowMask) >>> 0));
    }
  }
  return table;
}

const ZERO_RUN_ENTRIES = 64;
const ZERO_RUN = Buffer.alloc(ZERO_RUN_ENTRIES * 8);

/**
 * refcountTableOffsets of the table as read, where runs of zeros (how the model keeps a fresh
 * image's table) are not materialized: only the entries that overlap other bytes are decoded. Bytes
 * the read left untouched count as zeros, as toBuffer() makes them.
 */
export function refcountTableOf(data: Data): RefcountTable {
  const table = new RefcountTable(data.length / 8);
  let pos = 0;
  for (const s of data.segments) {
    const length = s.kind === "bytes" ? s.bytes.length : s.length;
    if (s.kind === "bytes" || (s.kind === "fill" && s.byte !== 0)) {
      const first = Math.floor(pos / 8);
      const end = Math.min(table.length, Math.ceil((pos + length) / 8));
      refcountTableOffsets(data.slice(first * 8, (end - first) * 8).toBuffer(), table, first);
    }
    pos += length;
  }
  return table;
}

/** The caches the runtime options make (Qcow2Runtime's part of them). */
export interface Qcow2CacheShape {
  l2CacheEntries: number;
  l2CacheEntrySize: number;
  refcountCacheEntries: number;
  cacheMemory: { l2: HeapBlock; refcount: HeapBlock };
}

/** An L2 table's entries (64-bit, so bigints), in a typed array: no object per entry. */
export type L2Table = BigUint64Array;

const LITTLE_ENDIAN = endianness() === "LE";

/**
 * An L2 table from its big-endian bytes (which are the caller's: they are swapped in place). An
 * entry at a time through readBigUInt64BE made 8,192 bigints for each table read.
 */
function decodeL2(buf: Buffer, entries: number): L2Table {
  if (!LITTLE_ENDIAN || buf.byteOffset % 8 !== 0) {
    return BigUint64Array.from({ length: entries }, (_, i) => buf.readBigUInt64BE(i * 8));
  }
  buf.swap64();
  return new BigUint64Array(buf.buffer, buf.byteOffset, entries);
}

/** A read of qcow2_do_open failed: the open fails with `what` (QEMU's message) and the errno's text. */
export class Qcow2OpenReadError extends Error {
  constructor(
    readonly what: string,
    readonly ioError: IoError,
  ) {
    super(`${what}: ${ioError.message}`);
    this.name = "Qcow2OpenReadError";
  }
}

export class Qcow2Image {
  readonly clusterBits: number;
  readonly clusterSize: number;
  /** L2 entries per table (one L2 slice: QEMU's default l2-cache-entry-size is the cluster size). */
  readonly l2Size: number;
  readonly version: number;
  /** s->l1_size and s->l1_table_offset: a grown table moves (replaceL1Table). */
  l1Size: number;
  l1Offset: number;
  readonly l1: bigint[];
  readonly refcounts: Qcow2Refcounts;
  /** Every L2 table read or made: what QEMU holds in its cache, or wrote back and could read again. */
  readonly #l2 = new Map<number, L2Table>();
  /**
   * Which L2 slices QEMU's cache holds and which of them are dirty, as the runtime options size it
   * (configureCaches); until then, one table per entry and room for every table.
   */
  #l2Cache: Qcow2CacheSlots;
  /** s->incompatible_features as read at open; only the dirty bit changes at run time. */
  #incompatibleFeatures: bigint;
  /** s->autoclear_features (0 for a version 2 image). */
  autoclear: bigint;
  /**
   * s->nb_bitmaps, s->bitmap_directory_size and s->bitmap_directory_offset: the bitmap directory
   * the header's bitmaps extension names (none when the extension is missing or stale).
   */
  bitmapDirectory: BitmapDirectory = { count: 0, size: 0, offset: 0 };

  constructor(
    private readonly host: DriverHost,
    /** The node holding the metadata: the qcow2 node's `file` child, kept current by the driver. */
    public file: BdsNode,
    /**
     * At open, the header qcow2_do_open has just read: the tables are read as it reads them, and a
     * failed read is a Qcow2OpenReadError. Without it (the tables are needed later), the header is
     * read again and a failure is the request's.
     */
    head?: Buffer,
    /** What qcow2_do_open does between reading the L1 table and the refcount table (its options). */
    afterL1?: () => void,
  ) {
    const h = head ?? this.read(0, 112);
    this.version = h.readUInt32BE(H.version);
    this.clusterBits = h.readUInt32BE(H.clusterBits);
    this.clusterSize = 2 ** this.clusterBits;
    this.l2Size = this.clusterSize / 8;
    const refcountOrder = this.version >= 3 ? h.readUInt32BE(H.refcountOrder) : 4;
    if (this.version >= 3 && h.readBigUInt64BE(H.incompatibleFeatures) & UNSUPPORTED_INCOMPATIBLE) {
      throw new ModelIoUnsupportedError("qcow2 images with extended L2 entries or zstd compression");
    }
    this.#incompatibleFeatures = this.version >= 3 ? h.readBigUInt64BE(H.incompatibleFeatures) : 0n;
    this.autoclear = this.version >= 3 ? h.readBigUInt64BE(H.autoclearFeatures) : 0n;
    this.l1Size = h.readUInt32BE(H.l1Size);
    this.l1Offset = Number(h.readBigUInt64BE(H.l1TableOffset));
    const opening = <T>(what: string, read: () => T): T => {
      try {
        return read();
      } catch (e) {
        if (head && e instanceof IoError) throw new Qcow2OpenReadError(what, e);
        throw e;
      }
    };
    // qcow2_do_open reads no L1 table of size 0.
    const l1 = this.l1Size > 0 ? opening("Could not read L1 table", () => this.read(this.l1Offset, this.l1Size * 8)) : Buffer.alloc(0);
    this.l1 = Array.from({ length: this.l1Size }, (_, i) => l1.readBigUInt64BE(i * 8));
    afterL1?.();
    const refTableOffset = Number(h.readBigUInt64BE(H.refcountTableOffset));
    const table = refcountTableOf(
      opening("Could not initialize refcount handling", () =>
        metadataRequest(() => bdrvPreadv(this.host, this.file, refTableOffset, h.readUInt32BE(H.refcountTableClusters) * this.clusterSize)),
      ),
    );
    const io: MetadataIo = {
      readBlock: (offset, bytes, blank) => this.readCached(offset, bytes, "refcount block", blank),
      write: (offset, data) => this.write(offset, data),
      discard: (offset, bytes) => this.#discardBelow(this.file, offset, bytes),
      forget: (offset) => this.#forgetL2(offset),
      corrupt: (message) => this.corrupt(true, -1, -1, message),
      signalCorruption: (message) => this.signalCorruption(true, -1, -1, message),
      flushFile: () => bdrvFlush(this.host, this.file),
      preWriteOverlapCheck: (offset, bytes) => this.preWriteOverlapCheck(offset, bytes, "refcount block"),
      writeL2Cache: () => this.#writeL2Cache(),
    };
    this.refcounts = new Qcow2Refcounts(io, this.clusterBits, refcountOrder, refTableOffset, table);
    this.#l2Cache = new Qcow2CacheSlots(Math.max(MIN_L2_CACHE_ENTRIES, this.l1Size), this.clusterSize);
  }

  /**
   * The caches `qcow2_update_options_prepare` makes from the runtime options: `l2CacheEntries`
   * slices of `l2CacheEntrySize` bytes, and `refcountCacheEntries` refcount blocks, in memory that
   * may be fresh pages. A new cache is empty; what the old one held dirty is written first
   * (dropCaches), so only an unused image takes one without writing.
   */
  configureCaches(c: Qcow2CacheShape): void {
    this.#l2Cache = new Qcow2CacheSlots(c.l2CacheEntries, c.l2CacheEntrySize, c.cacheMemory.l2.mmapped);
    this.#blankTables.clear();
    this.refcounts.configureCache(c.refcountCacheEntries, c.cacheMemory.refcount.mmapped);
  }

  /** Entries per L2 slice (s->l2_slice_size). */
  get l2SliceEntries(): number {
    return this.#sliceSize / 8;
  }

  get #sliceSize(): number {
    return this.#l2Cache.tableSize;
  }

  /** The offset of the slice holding entry `index` of the table at `l2Offset`. */
  #sliceOf(l2Offset: number, index: number): number {
    const perSlice = this.#sliceSize / 8;
    return l2Offset + Math.floor(index / perSlice) * this.#sliceSize;
  }

  /**
   * Tables read as the zeros of a blank cache entry: QEMU reads such a table again once its entry
   * is reused, into memory that is no longer blank, so the model must not keep it past that.
   */
  readonly #blankTables = new Set<number>();

  /** The L2 cache takes the slice (qcow2_cache_get and put): a miss may write another one back. */
  #useSlice(slice: number): boolean {
    const evict = (evicted: number) => {
      if (this.#blankTables.delete(evicted)) this.#l2.delete(evicted);
    };
    if (!this.#l2Cache.use(slice, (o) => this.#writeSlice(o), evict)) return false;
    this.#waits++;
    // The miss reads the slice from the file (a table read before is kept by the model, not by QEMU).
    if (this.host.waitWithoutLock && readMayWait(this.file)) throw this.host.waitWithoutLock();
    return true;
  }

  /**
   * The L2 table at `l2Offset` taken by the cache for entry `index`. A miss QEMU answers by reading
   * the slice again, where the model kept the table: should a blkdebug rule fail that read, the
   * model cannot follow (what it would do has not been checked against QEMU).
   */
  #tableForEntry(l2Offset: number, index: number): L2Table {
    const kept = this.#l2.has(l2Offset);
    const table = this.l2Table(l2Offset);
    const slice = this.#sliceOf(l2Offset, index);
    if (!this.#useSlice(slice) || !kept) return table;
    for (let n: BdsNode | undefined = this.file; n; n = filteredChild(n)?.bs) {
      if (n.driver.debug?.wouldFail(n, slice, this.#sliceSize, "read")) throw new ModelIoUnsupportedError("a blkdebug error injected into a qcow2 L2 table read again into its cache");
    }
    return table;
  }

  #waits = 0;

  /**
   * How often a metadata lookup or allocation so far had the coroutine wait for the file: an L2
   * cache miss, a new L2 table, a new refcount block. (Refcount changes alone stay in QEMU's cache.)
   */
  get metadataWaits(): number {
    return this.#waits + this.refcounts.blocksAdded;
  }

  /**
   * `qcow2_cache_entry_flush` of an L2 slice: the refcount blocks it depends on first, then the
   * overlap check (L2 tables ignored), then its entries as the cache holds them, one write.
   */
  #writeSlice(slice: number): void {
    if (this.refcounts.l2DependsOnRefcounts) {
      this.refcounts.flush();
      this.refcounts.l2DependsOnRefcounts = false;
    }
    this.preWriteOverlapCheck(slice, this.#sliceSize, "active L2 table");
    const l2Offset = this.startOfCluster(slice);
    const table = this.#l2.get(l2Offset)!;
    const first = (slice - l2Offset) / 8;
    const count = this.#sliceSize / 8;
    const buf = Buffer.alloc(this.#sliceSize);
    for (let i = 0; i < count; i++) if (table[first + i]) buf.writeBigUInt64BE(table[first + i]!, i * 8);
    this.write(slice, Data.bytes(buf));
  }

  /** A freed cluster held an L2 table: its slices leave the cache unwritten (qcow2_cache_discard). */
  #forgetL2(offset: number): void {
    if (!this.#l2.has(offset)) return;
    this.#l2Cache.discard(offset, this.clusterSize);
    this.#l2.delete(offset);
  }

  read(offset: number, bytes: number): Buffer {
    return metadataRequest(() => bdrvPreadv(this.host, this.file, offset, bytes).toBuffer());
  }

  /**
   * A table read into qcow2's cache (qcow2_cache_do_get), whose memory the read fills. Bytes the
   * file's driver leaves alone (null-co without read-zeroes) are what that memory held: zeros when
   * it is `blank` (fresh pages no table was read into yet), else an earlier table or whatever the
   * heap held before, which the model does not follow.
   */
  readCached(offset: number, bytes: number, what: string, blank: boolean): Buffer {
    const data = metadataRequest(() => bdrvPreadv(this.host, this.file, offset, bytes));
    if (!blank && data.segments.some((seg) => seg.kind === "untouched")) {
      throw new ModelIoUnsupportedError(`a qcow2 ${what} read from a node that leaves the buffer uninitialised into cache memory QEMU 7.2 took from its heap`);
    }
    return data.toBuffer();
  }

  write(offset: number, data: Data): void {
    // Metadata written through a compress filter becomes compressed clusters, which cannot be
    // written twice (-EIO): then which write of a table comes first and which fails decides the
    // outcome, and the model has not been checked against QEMU there.
    for (let n: BdsNode | undefined = this.file; n; n = filteredChild(n)?.bs) {
      if (n.driver.compressesWrites) throw new ModelIoUnsupportedError("qcow2 metadata written through a compress filter (QEMU writes it back from its caches)");
    }
    metadataRequest(() => bdrvPwritev(this.host, this.file, offset, data));
  }

  offsetIntoCluster(offset: number): number {
    return offset % this.clusterSize;
  }

  startOfCluster(offset: number): number {
    return offset - (offset % this.clusterSize);
  }

  sizeToClusters(size: number): number {
    return Math.ceil(size / this.clusterSize);
  }

  l1Index(guest: number): number {
    return Math.floor(guest / (this.clusterSize * this.l2Size));
  }

  l2Index(guest: number): number {
    return Math.floor(guest / this.clusterSize) % this.l2Size;
  }

  /** `l2_load`: an L2 table, from the cache or the image. */
  l2Table(l2Offset: number): L2Table {
    let t = this.#l2.get(l2Offset);
    if (!t) {
      // The model reads whole tables; a blank entry takes one only when slices are whole tables.
      const blank = this.#sliceSize === this.clusterSize && this.#l2Cache.missIsBlank(l2Offset);
      const raw = this.readCached(l2Offset, this.clusterSize, "L2 table", blank);
      if (blank) this.#blankTables.add(l2Offset);
      t = decodeL2(raw, this.l2Size);
      this.#l2.set(l2Offset, t);
    }
    return t;
  }

  /**
   * `set_l2_entry` in the L2 table cache: the table is dirty until the cache is written back
   * (writeCaches), as QEMU's stays in its qcow2 cache until a flush.
   */
  setL2Entry(l2Offset: number, index: number, entry: bigint): void {
    const table = this.#tableForEntry(l2Offset, index);
    const slice = this.#sliceOf(l2Offset, index);
    table[index] = entry;
    this.#l2Cache.markDirty(slice);
  }

  /**
   * `qcow2_cache_write` of the L2 table cache (by `qcow2_write_caches` at a flush, and by
   * `l2_allocate`): every dirty slice, whole (by default the whole table), in the order of the
   * cache's entries, which matters when a first, all-zero write was a hole punched past the end of
   * the file (detect-zeroes=unmap below). Then the refcount blocks, unless lazy refcounts left the
   * image dirty (qcow2_need_accurate_refcounts).
   */
  writeCaches(): void {
    this.#writeL2Cache();
    if (!this.dirty) this.refcounts.flush();
  }

  /** `qcow2_cache_write` of the L2 table cache. */
  #writeL2Cache(): void {
    this.#l2Cache.writeAll((o) => this.#writeSlice(o));
  }

  /** QCOW2_INCOMPAT_DIRTY: the refcounts on disk are not to be trusted (what qemu-io's `info` and query-named-block-nodes call dirty). */
  get dirty(): boolean {
    return (this.#incompatibleFeatures & INCOMPAT_DIRTY) !== 0n;
  }

  /**
   * `qcow2_mark_dirty` (lazy refcounts, before an allocating write links its clusters): the header
   * says so first, with bdrv_pwrite_sync; only once that worked does the image count as dirty.
   */
  markDirty(): void {
    if (this.dirty) return;
    this.#writeIncompatibleFeatures(this.#incompatibleFeatures | INCOMPAT_DIRTY);
    bdrvFlush(this.host, this.file);
    this.#incompatibleFeatures |= INCOMPAT_DIRTY;
  }

  /**
   * `qcow2_mark_clean`: the bit goes first, then the caches are flushed and the header rewritten
   * (qcow2_update_header, one write of the whole header cluster). The header was last written whole
   * by qemu-img or by a rewrite like this one, so the feature bits are the only bytes that differ.
   * Either failing is the caller's to report or ignore (a read-only node's close gets -EPERM).
   */
  markClean(): void {
    if (!this.dirty) return;
    this.#incompatibleFeatures &= ~INCOMPAT_DIRTY;
    this.writeCaches();
    bdrvFlush(this.host, this.file);
    const header = this.read(0, this.clusterSize);
    header.writeBigUInt64BE(this.#incompatibleFeatures, H.incompatibleFeatures);
    this.write(0, Data.bytes(header));
  }

  /**
   * `qcow2_update_header` as the persistent bitmaps code calls it: the whole header cluster, with
   * this image's feature bits and bitmaps extension, through `file`. A header that no longer fits
   * in its cluster is -ENOSPC.
   */
  updateHeader(): void {
    const old = this.read(0, this.clusterSize);
    const d = this.bitmapDirectory;
    let out: Buffer;
    try {
      out = rewriteHeaderCluster(old, { autoclear: this.autoclear, bitmaps: d.count > 0 ? bitmapsExtension(d) : null });
    } catch (e) {
      if (e instanceof HeaderUpdateError) ioFail(Errno.ENOSPC);
      throw e;
    }
    if (this.version >= 3) out.writeBigUInt64BE(this.#incompatibleFeatures, H.incompatibleFeatures);
    this.write(0, Data.bytes(out));
  }

  /** `update_header_sync`: the header, then a flush of `file`. */
  updateHeaderSync(): void {
    this.updateHeader();
    bdrvFlush(this.host, this.file);
  }

  /** `qcow2_flush_caches`: the caches written back (qcow2_write_caches), then a flush of `file`. */
  flushCaches(): void {
    this.writeCaches();
    bdrvFlush(this.host, this.file);
  }

  /** `qcow2_cache_flush` of the refcount block cache: written whatever lazy refcounts say, then `file` flushed. */
  flushRefcountCache(): void {
    this.refcounts.flush();
    bdrvFlush(this.host, this.file);
  }

  /** The node this image belongs to, as the driver last handed it a request. */
  owner: CorruptionOwner | undefined;
  /** s->signaled_corruption. */
  #signaledCorruption = false;

  /**
   * `qcow2_signal_corruption`, then the -EIO the caller returns. Only a request reaches corruption,
   * and the driver names the node before each.
   */
  corrupt(fatal: boolean, offset: number, size: number, message: string): never {
    this.signalCorruption(fatal, offset, size, message);
    ioFail(Errno.EIO);
  }

  /** `qcow2_signal_corruption` alone, where the caller goes on. */
  signalCorruption(fatal: boolean, offset: number, size: number, message: string): void {
    if (!this.owner) throw new ModelIoUnsupportedError(`a qcow2 corruption found outside a request (${message})`);
    const img = this;
    signalCorruption(this.owner, {
      get signaled() {
        return img.#signaledCorruption;
      },
      set signaled(v: boolean) {
        img.#signaledCorruption = v;
      },
      markedCorrupt: (this.#incompatibleFeatures & INCOMPAT_CORRUPT) !== 0n,
      markCorrupt: () => this.#markCorrupt(),
    }, fatal, offset, size, message);
  }

  /**
   * `qcow2_mark_corrupt`: qcow2_update_header writes the whole header cluster from what the node
   * keeps in memory (updateHeader), over whatever another writer left there; a version 2 header has
   * no feature bits to write.
   */
  #markCorrupt(): void {
    this.#incompatibleFeatures |= INCOMPAT_CORRUPT;
    if (this.version < 3) return;
    try {
      this.updateHeader();
    } catch (e) {
      if (!(e instanceof IoError)) throw e;
    }
  }

  #writeIncompatibleFeatures(bits: bigint): void {
    const buf = Buffer.alloc(8);
    buf.writeBigUInt64BE(bits);
    this.write(H.incompatibleFeatures, Data.bytes(buf));
  }

  /**
   * `qcow2_check_metadata_overlap` with the default checks ("cached": all but inactive L2 tables,
   * and the model has no snapshots): what metadata the clusters [offset, offset + bytes) touch
   * would overwrite, in QEMU's order of checks (the header before the range is widened to whole
   * clusters, then the L1 table, the refcount table, L2 tables, refcount blocks, and the bitmap
   * directory while the autoclear bit vouches for it).
   */
  metadataOverlap(offset: number, bytes: number, ignore?: OverlapIgnored): string | undefined {
    if (bytes === 0) return undefined;
    if (offset < this.clusterSize) return "main qcow2 header";
    const start = this.startOfCluster(offset);
    const end = start + Math.ceil((this.offsetIntoCluster(offset) + bytes) / this.clusterSize) * this.clusterSize;
    const [refTable, ...refBlocks] = this.refcounts.metadataRanges();
    const ranges: Array<[number, number, string]> = [[this.l1Offset, this.l1Size * 8, "active L1 table"], refTable!];
    if (ignore !== "active L2 table") {
      for (const e of this.l1) if (e & L1E_OFFSET_MASK) ranges.push([Number(e & L1E_OFFSET_MASK), this.clusterSize, "active L2 table"]);
    }
    if (ignore !== "refcount block") ranges.push(...refBlocks);
    const dir = this.bitmapDirectory;
    if (ignore !== "bitmap directory" && this.autoclear & AUTOCLEAR_BITMAPS) ranges.push([dir.offset, dir.size, "bitmap directory"]);
    for (const [from, len, what] of ranges) if (len > 0 && start < from + len && from < end) return what;
    return undefined;
  }

  /**
   * `qcow2_pre_write_overlap_check` before the model writes metadata as QEMU's cache flush does:
   * a write over other metadata marks the image corrupt and fails with -EIO.
   */
  preWriteOverlapCheck(offset: number, bytes: number, ignore?: OverlapIgnored): void {
    const overlap = this.metadataOverlap(offset, bytes, ignore);
    if (overlap) this.corrupt(true, offset, bytes, `Preventing invalid write on metadata (overlaps with ${overlap})`);
  }

  /** The end of `qcow2_grow_l1_table`: the new table, which the header already points to, is the image's. */
  replaceL1Table(offset: number, size: number): void {
    this.l1Offset = offset;
    this.l1Size = size;
    while (this.l1.length < size) this.l1.push(0n);
  }

  /** `qcow2_write_l1_entry`: with bdrv_pwrite_sync, a write then a flush of the file. */
  setL1Entry(index: number, entry: bigint): void {
    this.l1[index] = entry;
    const buf = Buffer.alloc(8);
    buf.writeBigUInt64BE(entry);
    this.write(this.l1Offset + index * 8, Data.bytes(buf));
    bdrvFlush(this.host, this.file);
  }

  /** The L2 table covering `guest` and the entry's index in it, or null when none is allocated. */
  findTable(guest: number): { l2Offset: number; table: L2Table; index: number } | null {
    const l1Index = this.l1Index(guest);
    if (l1Index >= this.l1Size) return null;
    const l2Offset = this.#l2OffsetAt(l1Index);
    if (!l2Offset) return null;
    const index = this.l2Index(guest);
    const table = this.#tableForEntry(l2Offset, index);
    return { l2Offset, table, index };
  }

  /** The L2 table offset of an L1 entry, as qcow2_get_host_offset and get_cluster_table check it. */
  #l2OffsetAt(l1Index: number): number {
    const l2Offset = this.l1[l1Index]! & L1E_OFFSET_MASK;
    if (l2Offset % BigInt(this.clusterSize) !== 0n) this.corrupt(true, -1, -1, `L2 table offset ${cHex(l2Offset)} unaligned (L1 index: ${cHex(l1Index)})`);
    return Number(l2Offset);
  }

  /**
   * `get_cluster_table` once the L1 table reaches `guest` (qcow2-grow-l1.ts grows it): like
   * findTable, but an L2 table is allocated where there is none.
   */
  getClusterTable(guest: number): { l2Offset: number; table: L2Table; index: number } {
    const l1Index = this.l1Index(guest);
    if (l1Index >= this.l1Size) throw new ModelIoUnsupportedError("growing a qcow2 L1 table");
    const entry = this.l1[l1Index]!;
    const l2Offset = this.#l2OffsetAt(l1Index);
    if (!(entry & QCOW_OFLAG_COPIED)) {
      if (entry & L1E_OFFSET_MASK) throw new ModelIoUnsupportedError("copying a shared qcow2 L2 table (internal snapshots)");
      this.#l2Allocate(l1Index);
    } else if (l2Offset === 0) {
      // A COPIED entry is loaded where it points, and the cache takes no table at offset 0.
      throw new QemuAbort("SIGABRT", "../../block/qcow2-cache.c:330: qcow2_cache_do_get: Assertion `offset != 0' failed.");
    }
    return this.findTable(guest)!;
  }

  /**
   * `l2_allocate`: a zeroed table in a new cluster; the L2 cache is flushed (the new table and every
   * other dirty one written, then the file flushed), then the table is hooked into the L1 table
   * with a synchronous write.
   */
  #l2Allocate(l1Index: number): void {
    const l2Offset = this.allocClusters(this.l2Size * 8);
    if (l2Offset === 0) this.corrupt(true, -1, -1, "Preventing invalid allocation of L2 table at offset 0");
    this.refcounts.flush();
    this.#l2.set(l2Offset, new BigUint64Array(this.l2Size));
    // Each slice of the new table takes a cache entry (qcow2_cache_get_empty), zeroed and dirty.
    for (let slice = l2Offset; slice < l2Offset + this.clusterSize; slice += this.#sliceSize) {
      this.#useSlice(slice);
      this.#l2Cache.markDirty(slice);
    }
    this.#writeL2Cache();
    this.setL1Entry(l1Index, BigInt(l2Offset) | QCOW_OFLAG_COPIED);
    this.#waits++;
  }

  /**
   * `qcow2_update_options_commit`: a reopen replaces the L2 and refcount block caches with empty
   * ones, so those tables are read again, from whatever `file` is then; the L1 and refcount tables
   * stay as they were read at open.
   */
  dropCaches(c: Qcow2CacheShape): void {
    // The reopen flushed both caches in prepare (whatever lazy refcounts say); nothing dirty is lost.
    this.#writeL2Cache();
    this.refcounts.flush();
    this.#l2.clear();
    this.configureCaches(c);
  }

  /**
   * `update_refcount_discard` and `qcow2_process_discards`: a freed cluster is discarded in the
   * node below when the discard type passes through; discarding is advisory, errors are ignored.
   */
  #discardBelow(node: BdsNode, offset: number, bytes: number): void {
    try {
      bdrvPdiscard(this.host, node, offset, bytes);
    } catch (e) {
      if (!(e instanceof IoError)) throw e;
    }
  }

  /** `qcow2_alloc_clusters`. */
  allocClusters(size: number): number {
    return this.refcounts.allocClusters(size);
  }

  /**
   * `qcow2_free_any_cluster`: what an L2 entry held goes back. Data clusters in an external data
   * file have no refcounts; they are only discarded there (when the type passes through).
   */
  freeAnyCluster(entry: bigint, data: { node: BdsNode; external: boolean }, discard: boolean): void {
    const t = clusterType(entry, data.external);
    if (data.external) {
      if (discard && (t === "normal" || t === "zero-alloc")) this.#discardBelow(data.node, entryOffset(entry), this.clusterSize);
      return;
    }
    if (t === "compressed") {
      const c = parseCompressed(entry, this.clusterBits);
      this.refcounts.free(c.offset, c.size, discard);
    } else if (t === "normal" || t === "zero-alloc") {
      // qcow2_free_any_cluster reports the image corrupt (not fatally) and leaves the cluster allocated.
      if ((entry & L2E_OFFSET_MASK) % BigInt(this.clusterSize) !== 0n) this.signalCorruption(false, -1, -1, `Cannot free unaligned cluster ${cHex(entry & L2E_OFFSET_MASK)}`);
      else this.refcounts.free(entryOffset(entry), this.clusterSize, discard);
    }
  }
}
