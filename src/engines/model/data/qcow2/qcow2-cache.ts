/**
 * The bookkeeping of QEMU's qcow2 caches (block/qcow2-cache.c), for L2 tables and for refcount
 * blocks: a fixed number of entries, each holding one table or slice (an L2 slice is
 * `l2-cache-entry-size` bytes: the cluster by default, 4 KiB when the cache cannot cover the whole
 * disk), found by probing from a hashed index, and replaced least recently used first. The contents
 * are the caller's; this keeps what decides when and how much of them is written: which entries are
 * dirty, and which entry a miss evicts. A dirty entry is written alone, so a flush writes only what
 * requests changed, and an eviction writes one before the flush does. It also knows which entries'
 * memory never held a table: what a read that fills nothing leaves there.
 */

export class Qcow2CacheSlots {
  /** Qcow2CachedTable.offset: the slice an entry holds, 0 when it holds none. */
  readonly #offset: number[];
  readonly #lru: number[];
  readonly #dirty: boolean[];
  /** Whether an entry's memory has held a table since the cache was made (a discard leaves it so). */
  readonly #used: boolean[];
  /** Qcow2Cache.lru_counter. */
  #counter = 0;

  constructor(
    /** How many entries (at least MIN_L2_CACHE_SIZE, as qcow2_update_options_prepare makes it). */
    readonly size: number,
    /** Bytes per entry: one L2 slice. */
    readonly tableSize: number,
    /** Whether table_array was fresh pages when qcow2_cache_create took it (data/malloc-heap.ts). */
    readonly zeroed = false,
  ) {
    this.#offset = new Array<number>(size).fill(0);
    this.#used = new Array<boolean>(size).fill(false);
    this.#lru = new Array<number>(size).fill(0);
    this.#dirty = new Array<boolean>(size).fill(false);
  }

  /**
   * `qcow2_cache_do_get` then `qcow2_cache_put`: the slice at `offset` gets an entry (on a miss the
   * least recently used one, whose dirty slice `writeBack` writes first) and becomes the most
   * recently used. A failed write-back fails the get and leaves the entry as it was. Whether it missed.
   * `load` learns whether the entry's memory is still zeros (`blank`).
   */
  use(offset: number, writeBack: (offset: number) => void, load?: (evicted: number, blank: boolean) => void): boolean {
    const hit = this.#find(offset);
    const i = hit ?? this.#replace(offset, writeBack, load);
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

  /** Whether a miss on `offset` would read into memory that is still zeros. */
  missIsBlank(offset: number): boolean {
    return this.zeroed && this.#find(offset) === undefined && !this.#used[this.#victim(offset)];
  }

  /** Whether an entry holds `offset`. */
  holds(offset: number): boolean {
    return this.#find(offset) !== undefined;
  }

  /**
   * The miss path: probe from the hashed index for the least recently used entry, write it back,
   * empty it, `load` the new table (what the entry held is `evicted`; a failed read leaves the entry
   * empty, as qcow2_cache_do_get does), take it.
   */
  #replace(offset: number, writeBack: (offset: number) => void, load?: (evicted: number, blank: boolean) => void): number {
    const victim = this.#victim(offset);
    this.#flushEntry(victim, writeBack);
    if (load) {
      const evicted = this.#offset[victim]!;
      this.#offset[victim] = 0;
      load(evicted, this.zeroed && !this.#used[victim]);
    }
    this.#offset[victim] = offset;
    this.#used[victim] = true;
    return victim;
  }

  /** The least recently used entry, probing from the hashed index. */
  #victim(offset: number): number {
    const lookup = ((offset / this.tableSize) * 4) % this.size;
    let victim = lookup;
    let i = lookup;
    do {
      if (this.#lru[i]! < this.#lru[victim]!) victim = i;
      if (++i === this.size) i = 0;
    } while (i !== lookup);
    return victim;
  }

  /** `qcow2_cache_entry_flush`. */
  #flushEntry(i: number, writeBack: (offset: number) => void): void {
    if (!this.#dirty[i] || !this.#offset[i]) return;
    writeBack(this.#offset[i]!);
    this.#dirty[i] = false;
  }
}
