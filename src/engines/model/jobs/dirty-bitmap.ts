/**
 * A dirty bitmap (block/dirty-bitmap.c over util/hbitmap.c), as jobs, filters and the
 * `block-dirty-bitmap-*` commands use it: one bit per `granularity` bytes; setting or resetting a
 * byte range touches every chunk it overlaps; the count is in whole chunks (a partial last chunk
 * counts as a full one, as `hbitmap_count` does).
 */
import { createHash } from "node:crypto";
import { QemuAbort } from "../qemu-would-crash.js";

/**
 * The chunks' bits in pages of PAGE chunks, each clean (undefined), all dirty (FULL), or one byte
 * per chunk: QEMU allocates the hbitmap's levels zeroed and touches only what is set, so a bitmap
 * of a 4 TiB node at 512 bytes (2^33 chunks) costs it nothing until written; a flat array of
 * them could not even be made.
 */
const PAGE = 1 << 16;
const FULL = "full";
interface Page {
  bits: Uint8Array;
  count: number;
}
type PageState = Page | typeof FULL | undefined;

/** What `snapshot` keeps, for `restore`. */
export interface BitmapBits {
  readonly pages: readonly PageState[];
  readonly set: number;
}

export class DirtyBitmap {
  private pages: PageState[];
  private set_ = 0;
  /** The number of chunks: `bitmap->size` in whole granules. */
  private nChunks: number;
  /** `bitmap->size`: the node's length when it was made, or as a resize left it. */
  private length: number;
  /** A user's bitmap has a name; a job's or a filter's has none (a successor takes its parent's). */
  name: string | undefined;
  /** `bdrv_dirty_bitmap_set_busy`: an export or a job uses it. */
  busy = false;
  /** The anonymous bitmap that records writes while a backup job holds this one (`bitmap->successor`). */
  successor: DirtyBitmap | undefined;
  /** `bitmap->persistent`: the node's driver stores it in the image when the node closes. */
  persistent = false;
  /** `bitmap->skip_store`: a transaction's remove has taken it out of the image; not stored again unless it aborts. */
  skipStore = false;
  /** `bitmap->readonly`: loaded from an image the node cannot write (or reopened read-only). */
  readonly = false;
  /** `bitmap->inconsistent`: loaded marked in use, so its bits are not to be trusted. */
  inconsistent = false;

  constructor(
    readonly granularity: number,
    length: number,
    /** Enabled: `bdrv_disable_dirty_bitmap` clears it. */
    public recording = true,
    name?: string,
  ) {
    this.length = length;
    this.name = name;
    this.nChunks = chunks(length, granularity);
    this.pages = new Array<PageState>(Math.ceil(this.nChunks / PAGE));
  }

  /** `bdrv_dirty_bitmap_size`. */
  get size(): number {
    return this.length;
  }

  /** Whether the range ends within the bitmap's chunks (`hbitmap_set` asserts that it does). */
  covers(offset: number, bytes: number): boolean {
    return Math.floor((offset + bytes - 1) / this.granularity) < this.nChunks;
  }

  /**
   * `bdrv_set_dirty_bitmap`: hbitmap_set asserts that the range ends within the bitmap, which a
   * write to a node that grew since the bitmap was made (a resize of its file) can pass.
   */
  set(offset: number, bytes: number): void {
    if (bytes > 0 && !this.covers(offset, bytes)) throw new QemuAbort("SIGABRT", "../../util/hbitmap.c:479: hbitmap_set: Assertion `last < hb->size' failed.");
    this.mark(offset, bytes, 1);
  }

  /** `bdrv_reset_dirty_bitmap`. */
  reset(offset: number, bytes: number): void {
    this.mark(offset, bytes, 0);
  }

  /** `bdrv_clear_dirty_bitmap`. */
  clear(): void {
    this.pages = new Array<PageState>(this.pages.length);
    this.set_ = 0;
  }

  /** `bdrv_dirty_bitmap_get`. */
  get(offset: number): boolean {
    return this.chunk(Math.floor(offset / this.granularity)) === 1;
  }

  /** `bdrv_get_dirty_count`, in bytes. */
  count(): number {
    return this.set_ * this.granularity;
  }

  /** `bdrv_dirty_iter_next` from `offset`: the first dirty chunk's offset, or undefined. */
  next(offset: number): number | undefined {
    const i = this.nextChunk(Math.floor(offset / this.granularity), 1);
    return i === undefined ? undefined : i * this.granularity;
  }

  /**
   * `hbitmap_truncate`: bits past the new end go, except a chunk the end falls inside; new chunks
   * are clean.
   */
  truncate(length: number): void {
    const n = chunks(length, this.granularity);
    // The page the shorter end falls in holds its bits one by one: FULL would take in chunks that
    // were outside the bitmap before it grew, or that are outside it once it shrank.
    const edge = Math.floor(Math.min(n, this.nChunks) / PAGE);
    if (this.pages[edge] === FULL) this.materialize(edge);
    for (let p = Math.ceil(n / PAGE); p < this.pages.length; p++) this.set_ -= this.pageCount(p);
    const last = this.pages[Math.floor(n / PAGE)];
    if (n % PAGE !== 0 && typeof last === "object") {
      for (let i = n % PAGE; i < PAGE; i++) {
        last.count -= last.bits[i]!;
        this.set_ -= last.bits[i]!;
        last.bits[i] = 0;
      }
    }
    this.pages.length = Math.ceil(n / PAGE);
    this.nChunks = n;
    this.length = length;
  }

  /**
   * `hbitmap_merge(dest, src, dest)`: every chunk of this bitmap that overlaps a dirty chunk of
   * `src` (whose granularity may differ: `hbitmap_sparse_merge`) becomes dirty. Same sizes only.
   */
  mergeFrom(src: DirtyBitmap): void {
    for (let i = src.nextChunk(0, 1); i !== undefined; ) {
      const end = src.nextChunk(i, 0) ?? src.nChunks;
      const start = i * src.granularity;
      this.set(start, Math.min(end * src.granularity, src.length) - start);
      i = src.nextChunk(end, 1);
    }
  }

  /**
   * `hbitmap_sha256`: the SHA-256 of the bottom level of QEMU's hbitmap, one bit per chunk in
   * 64-bit little-endian words, at least one word. Fed a page at a time: the words of a bitmap of
   * 2^33 chunks are a gigabyte.
   */
  sha256(): string {
    const hash = createHash("sha256");
    if (this.nChunks === 0) return hash.update(Buffer.alloc(8)).digest("hex");
    const zeros = Buffer.alloc(PAGE / 8);
    for (let p = 0; p < this.pages.length; p++) {
      const len = this.pageLength(p);
      const bytes = Math.ceil(len / 64) * 8;
      const page = this.pages[p];
      if (page === undefined) {
        hash.update(zeros.subarray(0, bytes));
        continue;
      }
      const words = Buffer.alloc(bytes);
      if (page === FULL) {
        words.fill(0xff, 0, len >> 3);
        for (let i = len & ~7; i < len; i++) words[i >> 3]! |= 1 << (i & 7);
      } else {
        for (let i = page.count > 0 ? page.bits.indexOf(1) : -1; i >= 0; i = page.bits.indexOf(1, i + 1)) words[i >> 3]! |= 1 << (i & 7);
      }
      hash.update(words);
    }
    return hash.digest("hex");
  }

  /** `bdrv_dirty_bitmap_get_persistence`: persistent, and not taken out of the image by a transaction. */
  get storable(): boolean {
    return this.persistent && !this.skipStore;
  }

  /**
   * `bdrv_dirty_bitmap_serialize_part`: the chunks of [offset, offset + bytes), one bit each from
   * the lowest bit of each byte up, in whole 64-bit little-endian words (`offset` is a multiple of
   * 64 chunks).
   */
  serializePart(offset: number, bytes: number): Buffer {
    const first = offset / this.granularity;
    const n = Math.min(Math.ceil((offset + bytes) / this.granularity), this.nChunks) - first;
    const out = Buffer.alloc(Math.ceil(n / 64) * 8);
    for (let i = this.nextChunk(first, 1); i !== undefined && i < first + n; i = this.nextChunk(i + 1, 1)) {
      out[(i - first) >> 3]! |= 1 << ((i - first) & 7);
    }
    return out;
  }

  /** `bdrv_dirty_bitmap_deserialize_part`: the chunks of the range take the bits of `buf`. */
  deserializePart(buf: Buffer, offset: number, bytes: number): void {
    const first = offset / this.granularity;
    const n = Math.min(Math.ceil((offset + bytes) / this.granularity), this.nChunks) - first;
    for (let i = 0; i < n; i++) this.markChunks(first + i, first + i + 1, ((buf[i >> 3]! >> (i & 7)) & 1) as 0 | 1);
  }

  /** `bdrv_dirty_bitmap_deserialize_ones`: every chunk of the range is dirty. */
  deserializeOnes(offset: number, bytes: number): void {
    this.mark(offset, bytes, 1);
  }

  /** The bits, to put back with `restore` (the backup `block_dirty_bitmap_merge` keeps). */
  snapshot(): BitmapBits {
    return { pages: this.pages.map(copyPage), set: this.set_ };
  }

  restore(bits: BitmapBits): void {
    this.pages = bits.pages.map(copyPage);
    this.set_ = bits.set;
  }

  private mark(offset: number, bytes: number, value: 0 | 1): void {
    if (bytes <= 0) return;
    this.markChunks(Math.floor(offset / this.granularity), Math.min(Math.ceil((offset + bytes) / this.granularity), this.nChunks), value);
  }

  /** Chunks [first, last) take `value`: whole pages at once, the pages at either end chunk by chunk. */
  private markChunks(first: number, last: number, value: 0 | 1): void {
    for (let p = Math.floor(first / PAGE); p * PAGE < last; p++) {
      const base = p * PAGE;
      const lo = Math.max(first, base) - base;
      const hi = Math.min(last, base + PAGE) - base;
      const len = this.pageLength(p);
      if (lo === 0 && hi >= len) {
        this.set_ += (value ? len : 0) - this.pageCount(p);
        this.pages[p] = value ? FULL : undefined;
        continue;
      }
      const page = this.pages[p];
      if (page === (value ? FULL : undefined)) continue;
      const bits = this.materialize(p);
      for (let i = lo; i < hi; i++) {
        if (bits.bits[i] !== value) {
          const d = value ? 1 : -1;
          bits.count += d;
          this.set_ += d;
          bits.bits[i] = value;
        }
      }
      if (bits.count === 0) this.pages[p] = undefined;
      else if (bits.count === len) this.pages[p] = FULL;
    }
  }

  /** The bit of chunk `i`. */
  private chunk(i: number): 0 | 1 {
    const page = this.pages[Math.floor(i / PAGE)];
    if (page === undefined) return 0;
    if (page === FULL) return 1;
    return page.bits[i % PAGE] as 0 | 1;
  }

  /** The first chunk from `i` on whose bit is `value`, or undefined. */
  private nextChunk(i: number, value: 0 | 1): number | undefined {
    if (i >= this.nChunks) return undefined;
    for (let p = Math.floor(i / PAGE); p < this.pages.length; p++) {
      const base = p * PAGE;
      const from = Math.max(i, base);
      const page = this.pages[p];
      if (page === (value ? FULL : undefined)) return from;
      if (page === (value ? undefined : FULL)) continue;
      // indexOf scans natively.
      const at = (page as Page).bits.indexOf(value, from - base);
      if (at >= 0 && base + at < this.nChunks) return base + at;
    }
    return undefined;
  }

  /** Chunks in page `p`: PAGE, fewer in the last. */
  private pageLength(p: number): number {
    return Math.min(PAGE, this.nChunks - p * PAGE);
  }

  private pageCount(p: number): number {
    const page = this.pages[p];
    return page === undefined ? 0 : page === FULL ? this.pageLength(p) : page.count;
  }

  /** Page `p` as one byte per chunk. */
  private materialize(p: number): Page {
    const page = this.pages[p];
    if (typeof page === "object") return page;
    const bits = new Uint8Array(PAGE);
    const made = { bits, count: 0 };
    if (page === FULL) {
      made.count = this.pageLength(p);
      bits.fill(1, 0, made.count);
    }
    this.pages[p] = made;
    return made;
  }
}

function copyPage(page: PageState): PageState {
  return typeof page === "object" ? { bits: page.bits.slice(), count: page.count } : page;
}

function chunks(length: number, granularity: number): number {
  return Math.ceil(length / granularity);
}
