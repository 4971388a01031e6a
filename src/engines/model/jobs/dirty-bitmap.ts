/**
 * A dirty bitmap (block/dirty-bitmap.c over util/hbitmap.c) as the mirror job uses it: one bit per
 * `granularity` bytes; setting or resetting a byte range touches every chunk it overlaps; the
 * count is in whole chunks (a partial last chunk counts as a full one, as `hbitmap_count` does).
 */
import type { DirtyBitmapInfo } from "../graph.js";

export class DirtyBitmap implements DirtyBitmapInfo {
  private readonly bits: Uint8Array;
  private set_ = 0;

  constructor(
    readonly granularity: number,
    readonly length: number,
    /** Enabled (`bdrv_disable_dirty_bitmap` for a write-blocking mirror). */
    readonly recording = true,
  ) {
    this.bits = new Uint8Array(Math.ceil(length / granularity));
  }

  /** `bdrv_set_dirty_bitmap`. */
  set(offset: number, bytes: number): void {
    this.mark(offset, bytes, 1);
  }

  /** `bdrv_reset_dirty_bitmap`. */
  reset(offset: number, bytes: number): void {
    this.mark(offset, bytes, 0);
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
    for (let i = Math.floor(offset / this.granularity); i < this.bits.length; i++) if (this.bits[i]) return i * this.granularity;
    return undefined;
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
