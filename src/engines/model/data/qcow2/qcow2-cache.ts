/**
 * The bookkeeping of QEMU's qcow2 L2 table cache (block/qcow2-cache.c): a fixed number of entries,
 * each holding one slice of an L2 table (`l2-cache-entry-size` bytes: the cluster by default, 4 KiB
 * when the cache cannot cover the whole disk), found by probing from a hashed index, and replaced
 * least recently used first. The slice contents are the image's (Qcow2Image keeps every table it
 * has read); this keeps what decides when and how much of them is written: which slices are dirty,
 * and which entry a miss evicts. A dirty slice is written alone, so a flush writes only the slices a
 * request changed, and an eviction writes one before the flush does.
 */

export class Qcow2CacheSlots {
  /** Qcow2CachedTable.offset: the slice an entry holds, 0 when it holds none. */
  readonly #offset: number[];
  readonly #lru: number[];
  readonly #dirty: boolean[];
  /** Qcow2Cache.lru_counter. */
  #counter = 0;

  constructor(
    /** How many entries (at least MIN_L2_CACHE_SIZE, as qcow2_update_options_prepare makes it). */
    readonly size: number,
    /** Bytes per entry: one L2 slice. */
    readonly tableSize: number,
  ) {
    this.#offset = new Array<number>(size).fill(0);
    this.#lru = new Array<number>(size).fill(0);
    this.#dirty = new Array<boolean>(size).fill(false);
  }

  /**
   * `qcow2_cache_do_get` then `qcow2_cache_put`: the slice at `offset` gets an entry (on a miss the
   * least recently used one, whose dirty slice `writeBack` writes first) and becomes the most
   * recently used. A failed write-back fails the get and leaves the entry as it was. Whether it missed.
   */
  use(offset: number, writeBack: (offset: number) => void): boolean {
    const hit = this.#find(offset);
    const i = hit ?? this.#replace(offset, writeBack);
    this.#lru[i] = ++this.#counter;
    return hit === undefined;
  }

  /** `qcow2_cache_entry_mark_dirty` of a slice just used. */
  markDirty(offset: number): void {
    const i = this.#find(offset);
    if (i !== undefined) this.#dirty[i] = true;
  }

  /** `qcow2_cache_write`: every dirty slice, in the order of the entries (not of the offsets). */
  writeAll(writeBack: (offset: number) => void): void {
    for (let i = 0; i < this.size; i++) this.#flushEntry(i, writeBack);
  }

  /** `qcow2_cache_discard` of whatever slice lies in [offset, offset + bytes): dropped, not written. */
  discard(offset: number, bytes: number): void {
    for (let i = 0; i < this.size; i++) {
      const o = this.#offset[i]!;
      if (o !== 0 && o >= offset && o < offset + bytes) {
        this.#offset[i] = 0;
        this.#lru[i] = 0;
        this.#dirty[i] = false;
      }
    }
  }

  #find(offset: number): number | undefined {
    const i = this.#offset.indexOf(offset);
    return i < 0 ? undefined : i;
  }

  /** The miss path: probe from the hashed index for the least recently used entry, write it back, take it. */
  #replace(offset: number, writeBack: (offset: number) => void): number {
    const lookup = ((offset / this.tableSize) * 4) % this.size;
    let victim = lookup;
    let i = lookup;
    do {
      if (this.#lru[i]! < this.#lru[victim]!) victim = i;
      if (++i === this.size) i = 0;
    } while (i !== lookup);
    this.#flushEntry(victim, writeBack);
    this.#offset[victim] = offset;
    return victim;
  }

  /** `qcow2_cache_entry_flush`. */
  #flushEntry(i: number, writeBack: (offset: number) => void): void {
    if (!this.#dirty[i] || !this.#offset[i]) return;
    writeBack(this.#offset[i]!);
    this.#dirty[i] = false;
  }
}
