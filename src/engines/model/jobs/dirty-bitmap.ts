/**
 * A dirty bitmap (block/dirty-bitmap.c over util/hbitmap.c), as jobs, filters and the
 * `block-dirty-bitmap-*` commands use it: one bit per `granularity` bytes; setting or resetting a
 * byte range touches every chunk it overlaps; the count is in whole chunks (a partial last chunk
 * counts as a full one, as `hbitmap_count` does).
 */
import { createHash } from "node:crypto";
import { QemuAbort } from "../qemu-would-crash.js";

export class DirtyBitmap {
  private bits: Uint8Array;
  private set_ = 0;
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
    this.bits = new Uint8Array(chunks(length, granularity));
  }

  /** `bdrv_dirty_bitmap_size`. */
  get size(): number {
    return this.length;
  }

  /** Whether the range ends within the bitmap's chunks (`hbitmap_set` asserts that it does). */
  covers(offset: number, bytes: number): boolean {
    return Math.floor((offset + bytes - 1) / this.granularity) < this.bits.length;
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
    this.bits.fill(0);
    this.set_ = 0;
  }

  /** `bdrv_dirty_bitmap_get`. */
  get(offset: number): boolean {
    return this.bits[Math.floor(offset / this.granularity)] === 1;
  }

  /** `bdrv_get_dirty_count`, in bytes. */
  count(): number {
    return this.set_ * this.granularity;
  }

  /** `bdrv_dirty_iter_next` from `offset`: the first dirty chunk's offset, or undefined. */
  next(offset: number): number | undefined {
    // indexOf scans natively: a bitmap of a 1 TiB node at 512 bytes has 2^31 chunks.
    const i = this.set_ > 0 ? this.bits.indexOf(1, Math.floor(offset / this.granularity)) : -1;
    if (i >= 0) return i * this.granularity;
    return undefined;
  }

  /**
   * `hbitmap_truncate`: bits past the new end go, except a chunk the end falls inside; new chunks
   * are clean.
   */
  truncate(length: number): void {
    const n = chunks(length, this.granularity);
    const bits = new Uint8Array(n);
    bits.set(this.bits.subarray(0, n));
    for (let i = n; i < this.bits.length; i++) this.set_ -= this.bits[i]!;
    this.bits = bits;
    this.length = length;
  }

  /**
   * `hbitmap_merge(dest, src, dest)`: every chunk of this bitmap that overlaps a dirty chunk of
   * `src` (whose granularity may differ: `hbitmap_sparse_merge`) becomes dirty. Same sizes only.
   */
  mergeFrom(src: DirtyBitmap): void {
    for (let i = src.set_ > 0 ? src.bits.indexOf(1) : -1; i >= 0; i = src.bits.indexOf(1, i + 1)) {
      const start = i * src.granularity;
      this.set(start, Math.min(src.granularity, src.length - start));
    }
  }

  /**
   * `hbitmap_sha256`: the SHA-256 of the bottom level of QEMU's hbitmap, one bit per chunk in
   * 64-bit little-endian words, at least one word.
   */
  sha256(): string {
    const words = Buffer.alloc(Math.max(Math.ceil(this.bits.length / 64), 1) * 8);
    for (let i = this.set_ > 0 ? this.bits.indexOf(1) : -1; i >= 0; i = this.bits.indexOf(1, i + 1)) words[i >> 3] |= 1 << (i & 7);
    return createHash("sha256").update(words).digest("hex");
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
    const n = Math.min(Math.ceil((offset + bytes) / this.granularity), this.bits.length) - first;
    const out = Buffer.alloc(Math.ceil(n / 64) * 8);
    for (let i = 0; i < n; i++) if (this.bits[first + i]) out[i >> 3]! |= 1 << (i & 7);
    return out;
  }

  /** `bdrv_dirty_bitmap_deserialize_part`: the chunks of the range take the bits of `buf`. */
  deserializePart(buf: Buffer, offset: number, bytes: number): void {
    const first = offset / this.granularity;
    const n = Math.min(Math.ceil((offset + bytes) / this.granularity), this.bits.length) - first;
    for (let i = 0; i < n; i++) {
      const bit = (buf[i >> 3]! >> (i & 7)) & 1;
      if (this.bits[first + i] !== bit) this.set_ += bit ? 1 : -1;
      this.bits[first + i] = bit;
    }
  }

  /** `bdrv_dirty_bitmap_deserialize_ones`: every chunk of the range is dirty. */
  deserializeOnes(offset: number, bytes: number): void {
    this.mark(offset, bytes, 1);
  }

  /** The bits, to put back with `restore` (the backup `block_dirty_bitmap_merge` keeps). */
  snapshot(): Uint8Array {
    return this.bits.slice();
  }

  restore(bits: Uint8Array): void {
    this.bits = bits.slice();
    this.set_ = bits.reduce((sum, b) => sum + b, 0);
  }

  private mark(offset: number, bytes: number, value: 0 | 1): void {
    if (bytes <= 0) return;
    const first = Math.floor(offset / this.granularity);
    const last = Math.min(Math.ceil((offset + bytes) / this.granularity), this.bits.length);
    for (let i = first; i < last; i++) {
      if (this.bits[i] !== value) this.set_ += value ? 1 : -1;
      this.bits[i] = value;
    }
  }
}

function chunks(length: number, granularity: number): number {
  return Math.ceil(length / granularity);
}
