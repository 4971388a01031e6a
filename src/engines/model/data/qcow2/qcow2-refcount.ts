/**
 * qcow2 refcounts and cluster allocation (block/qcow2-refcount.c): the refcount table (read at
 * open) and refcount blocks (read when first needed), `update_refcount`, `alloc_refcount_block`,
 * `alloc_clusters_noref`, `qcow2_alloc_clusters`, `qcow2_alloc_clusters_at`, `qcow2_alloc_bytes`
 * and `qcow2_free_clusters`, with QEMU's cursors, so clusters are handed out in QEMU's order.
 *
 * Refcount blocks live in a cache of QEMU's shape (qcow2-cache.ts): a change stays there until the
 * cache is flushed (a new refcount block or L2 table, a flush of the node, a reopen, the close), or
 * its entry is evicted, so the image holds what QEMU's holds in between: a file too short for the
 * block fails only when it is written, and a fatal corruption loses what was not written yet.
 */
import { Data } from "../data.js";
import { Errno, IoError, ioFail, ModelIoUnsupportedError } from "../io-error.js";
import { Qcow2CacheSlots } from "./qcow2-cache.js";
import { cHex } from "./qcow2-corruption.js";
import type { RefcountTable } from "./qcow2-image.js";

/** How the refcounts reach the image: through the qcow2 node's `file` child. */
export interface MetadataIo {
  /** A refcount block read into a cache entry; `blank`: the entry's memory is still zeros. */
  readBlock(offset: number, bytes: number, blank: boolean): Buffer;
  write(offset: number, data: Data): void;
  /** Discard a freed cluster in the node below (s->discard_passthrough). */
  discard(offset: number, bytes: number): void;
  /** A freed cluster may have held a cached L2 table: drop it (qcow2_cache_discard). */
  forget(offset: number): void;
  /** `qcow2_signal_corruption` (fatal), then -EIO. */
  corrupt(message: string): never;
  /** `qcow2_signal_corruption` (fatal) alone: the caller returns an errno of its own. */
  signalCorruption(message: string): void;
  /** `bdrv_flush` of the file, as `bdrv_pwrite_sync` ends. */
  flushFile(): void;
  /** `qcow2_cache_write` of the L2 table cache: a dependency of the refcount block cache. */
  writeL2Cache(): void;
  /** `qcow2_pre_write_overlap_check` as the refcount block cache flushes a block (refcount blocks ignored). */
  preWriteOverlapCheck(offset: number, bytes: number): void;
}

/** MIN_REFCOUNT_CACHE_SIZE: the refcount block cache's entries until the options say (qcow2_update_options_prepare). */
const MIN_REFCOUNT_CACHE_SIZE = 4;

/** `alloc_refcount_block` placed a new refcount block: the caller searches for free clusters again (-EAGAIN). */
class RefcountBlockAdded extends Error {}

export class Qcow2Refcounts {
  readonly #clusterSize: number;
  /** Bits per refcount (2^refcount_order, 1 to 64). */
  readonly #bits: number;
  /** Refcounts per block (2^refcount_block_bits). */
  readonly #perBlock: number;
  /** The contents of the blocks the cache holds, by offset. */
  readonly #blocks = new Map<number, Buffer>();
  #cache: Qcow2CacheSlots;
  /** The refcount block cache's `depends` on the L2 table cache: set by a refcount decrease. */
  #dependsOnL2 = false;
  /** The L2 table cache's `depends` on this one: set when L2 entries point at newly counted clusters. */
  l2DependsOnRefcounts = false;
  /** s->free_cluster_index: where the search for free clusters starts. */
  freeClusterIndex = 0;
  /** s->free_byte_offset: where the next compressed cluster is packed (0: start a new cluster). */
  freeByteOffset = 0;
  /** How many refcount blocks were placed (each written at once, so the allocating coroutine waits). */
  blocksAdded = 0;
  /** How many refcount blocks were read from the image into the cache. */
  loads = 0;
  /**
   * s->cache_discards: qcow2_cluster_discard and qcow2_subcluster_zeroize keep the discards of
   * freed clusters queued (merged where they touch) until they end; otherwise each refcount update
   * sends its own at its end.
   */
  cacheDiscards = false;
  /** s->discards: host ranges freed and waiting to be discarded below. */
  readonly #discards: Array<{ offset: number; bytes: number }> = [];

  constructor(
    private readonly io: MetadataIo,
    clusterBits: number,
    refcountOrder: number,
    private readonly tableOffset: number,
    private readonly table: RefcountTable,
  ) {
    this.#clusterSize = 2 ** clusterBits;
    this.#bits = 2 ** refcountOrder;
    this.#perBlock = (this.#clusterSize * 8) / this.#bits;
    this.#cache = new Qcow2CacheSlots(MIN_REFCOUNT_CACHE_SIZE, this.#clusterSize);
  }

  /** The cache as `qcow2_update_options_prepare` makes it from the runtime options (an empty one). */
  configureCache(entries: number, zeroed: boolean): void {
    this.#cache = new Qcow2CacheSlots(entries, this.#clusterSize, zeroed);
    this.#blocks.clear();
  }

  /** Where the refcount table and its blocks are: [offset, bytes, what QEMU's overlap check calls it]. */
  metadataRanges(): Array<[number, number, string]> {
    const ranges: Array<[number, number, string]> = [[this.tableOffset, this.table.length * 8, "refcount table"]];
    for (const o of this.table.blocks()) ranges.push([o, this.#clusterSize, "refcount block"]);
    return ranges;
  }

  /**
   * `qcow2_shrink_reftable`: a refcount block that counts nothing but itself leaves the table, on
   * disk (the whole table written again, synchronously) and then in memory, where it is discarded
   * as a cluster (`qcow2_discard_refcount_block`). After an error the table is still cleared in
   * memory, and the first error is the one thrown.
   */
  shrinkTable(): void {
    const cs = this.#clusterSize;
    const all = this.table.toArray();
    const kept = new Array<boolean>(all.length).fill(false);
    for (let i = 0; i < all.length; i++) {
      if (all[i] === 0) continue;
      const exact = this.table.exactAt(i);
      // qcow2_cache_get: an unaligned offset is a corruption.
      if (exact % BigInt(cs) !== 0n) this.io.corrupt(`Cannot get entry from refcount block cache: Offset ${cHex(exact)} is unaligned`);
      const offset = this.#checked(i);
      const block = this.#block(offset);
      // A block in the range it describes holds its own refcount, which does not make it used.
      const own = Math.floor(offset / (cs * this.#perBlock)) === i ? (offset / cs) % this.#perBlock : -1;
      for (let j = 0; j < this.#perBlock && !kept[i]; j++) kept[i] = j !== own && this.#entry(block, j) !== 0;
    }
    const entries = Buffer.alloc(all.length * 8);
    for (let i = 0; i < all.length; i++) if (kept[i]) entries.writeBigUInt64BE(this.table.exactAt(i), i * 8);
    let failure: IoError | undefined;
    try {
      this.io.write(this.tableOffset, Data.bytes(entries));
      this.io.flushFile();
    } catch (e) {
      if (!(e instanceof IoError)) throw e;
      failure = e;
    }
    for (let i = 0; i < all.length; i++) {
      if (all[i] === 0 || kept[i]) continue;
      if (!failure) {
        try {
          this.#discardBlock(all[i]!);
        } catch (e) {
          if (!(e instanceof IoError)) throw e;
          failure = e;
        }
      }
      this.table.set(i, 0);
    }
    if (!this.cacheDiscards) this.processDiscards(failure === undefined);
    if (failure) throw failure;
  }

  /** `qcow2_discard_refcount_block`: the block's own refcount, which must be 1, drops to 0. */
  #discardBlock(offset: number): void {
    const cs = this.#clusterSize;
    const clusterIndex = offset / cs;
    const tableIndex = Math.floor(clusterIndex / this.#perBlock);
    // get_refblock_offset: the entry as the table holds it now (an earlier one may be cleared).
    const covering = tableIndex < this.table.length ? this.table.get(tableIndex) : 0;
    if (covering === 0) this.io.corrupt(`Refblock at ${cHex(offset)} is not covered by the refcount structures`);
    const i = clusterIndex % this.#perBlock;
    const refcount = this.#entry(this.#block(covering), i);
    if (refcount !== 1) {
      this.io.signalCorruption(
        `Invalid refcount: refblock offset ${cHex(covering)}, reftable index ${tableIndex}, block offset ${cHex(offset)}, refcount ${cHex(refcount)}`,
      );
      ioFail(Errno.EINVAL);
    }
    this.#set(covering, i, 0);
    if (clusterIndex < this.freeClusterIndex) this.freeClusterIndex = clusterIndex;
    if (this.#cache.holds(offset)) {
      this.#cache.discard(offset, cs);
      this.#blocks.delete(offset);
    }
    this.#queueDiscard(offset, cs);
  }

  /**
   * `qcow2_cache_flush` of the refcount block cache (`qcow2_cache_write`, without the flush of the
   * file the model does not follow): every dirty block, in the order of the cache's entries.
   */
  flush(): void {
    this.#cache.writeAll((o) => this.#writeBack(o));
  }

  /** `qcow2_cache_entry_flush`: a dependency first, then the overlap check, then the whole block. */
  #writeBack(blockOffset: number): void {
    if (this.#dependsOnL2) {
      this.io.writeL2Cache();
      this.#dependsOnL2 = false;
    }
    this.io.preWriteOverlapCheck(blockOffset, this.#clusterSize);
    this.io.write(blockOffset, Data.bytes(Buffer.from(this.#blocks.get(blockOffset)!)));
  }

  /**
   * `qcow2_cache_set_dependency(l2_table_cache, refcount_block_cache)`: L2 entries now point at
   * clusters whose refcounts only the cache holds, so they are written after it.
   */
  setL2DependsOnRefcounts(): void {
    if (this.#dependsOnL2) {
      this.io.writeL2Cache();
      this.#dependsOnL2 = false;
    }
    this.l2DependsOnRefcounts = true;
  }

  /**
   * `qcow2_cache_get` (or `qcow2_cache_get_empty` with `fresh`): a miss evicts an entry, written
   * back first when dirty, and what it held is read again when next needed.
   */
  #block(blockOffset: number, fresh?: Buffer): Buffer {
    this.#cache.use(
      blockOffset,
      (o) => this.#writeBack(o),
      (evicted, blank) => {
        this.#blocks.delete(evicted);
        if (!fresh) this.loads++;
        this.#blocks.set(blockOffset, fresh ?? this.io.readBlock(blockOffset, this.#clusterSize, blank));
      },
    );
    return this.#blocks.get(blockOffset)!;
  }

  #max(): number {
    return 2 ** this.#bits - 1;
  }

  /**
   * Entry `i` of a refcount block (get_refcount_ro0 to ro6): big-endian from 8 bits up, and below
   * that packed into bytes from the lowest bits up.
   */
  #entry(block: Buffer, i: number): number {
    const bits = this.#bits;
    if (bits < 8) return (block[(i * bits) >> 3]! >> ((i * bits) & 7)) & ((1 << bits) - 1);
    if (bits === 64) {
      const v = block.readBigUInt64BE(i * 8);
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ModelIoUnsupportedError("a 64-bit qcow2 refcount past 2^53");
      return Number(v);
    }
    return block.readUIntBE((i * bits) / 8, bits / 8);
  }

  /** set_refcount_ro0 to ro6. */
  #putEntry(block: Buffer, i: number, value: number): void {
    const bits = this.#bits;
    if (bits < 8) {
      const at = (i * bits) >> 3;
      const shift = (i * bits) & 7;
      const mask = ((1 << bits) - 1) << shift;
      block[at] = (block[at]! & ~mask) | ((value << shift) & mask);
    } else if (bits === 64) {
      block.writeBigUInt64BE(BigInt(value), i * 8);
    } else {
      block.writeUIntBE(value, (i * bits) / 8, bits / 8);
    }
  }

  /** `qcow2_get_refcount`: 0 for clusters no refcount block describes. */
  get(clusterIndex: number): number {
    const blockOffset = this.#checked(Math.floor(clusterIndex / this.#perBlock));
    if (!blockOffset) return 0;
    return this.#entry(this.#block(blockOffset), clusterIndex % this.#perBlock);
  }

  /**
   * The refcount block offset at `tableIndex`, as qcow2_get_refcount and alloc_refcount_block take
   * it: an unaligned one is a corruption. An aligned one past 2^53 the model's numbers cannot hold.
   */
  #checked(tableIndex: number): number {
    const exact = this.table.exactAt(tableIndex);
    if (exact % BigInt(this.#clusterSize) !== 0n) {
      this.io.corrupt(`Refblock offset ${cHex(exact)} unaligned (reftable index: ${cHex(tableIndex)})`);
    }
    if (exact > BigInt(Number.MAX_SAFE_INTEGER)) throw new ModelIoUnsupportedError("a qcow2 refcount block offset past 2^53");
    return Number(exact);
  }

  /** A refcount change, in the cache until it is written back. */
  #set(blockOffset: number, i: number, value: number): void {
    const block = this.#block(blockOffset);
    this.#putEntry(block, i, value);
    this.#cache.markDirty(blockOffset);
  }

  /**
   * `alloc_refcount_block`: the block describing `clusterIndex`, made if missing, placed so that it
   * describes itself where it can; a new block makes the caller search again.
   */
  #ensureBlock(clusterIndex: number): number {
    const tableIndex = Math.floor(clusterIndex / this.#perBlock);
    const existing = this.#checked(tableIndex);
    if (existing) return existing;
    if (tableIndex >= this.table.length) throw new ModelIoUnsupportedError("growing a qcow2 refcount table");
    // The refcount table is about to change, and L2 tables may point at what it will count.
    this.io.writeL2Cache();
    const fresh = this.#allocNoref(this.#clusterSize);
    if (fresh === 0) this.io.corrupt("Preventing invalid allocation of refcount block at offset 0");
    const freshIndex = fresh / this.#clusterSize;
    if (Math.floor(freshIndex / this.#perBlock) === tableIndex) {
      const block = this.#block(fresh, Buffer.alloc(this.#clusterSize)).fill(0);
      this.#putEntry(block, freshIndex % this.#perBlock, 1);
    } else {
      this.#update(fresh, this.#clusterSize, 1, false);
      this.flush();
      this.#block(fresh, Buffer.alloc(this.#clusterSize)).fill(0);
    }
    // The new block is written at once, and the flush checks where it goes: over a refcount table
    // that read zeros (a file shorter than the image), say, it is a corruption.
    this.#cache.markDirty(fresh);
    this.flush();
    this.table.set(tableIndex, fresh);
    const entry = Buffer.alloc(8);
    entry.writeBigUInt64BE(BigInt(fresh));
    this.io.write(this.tableOffset + tableIndex * 8, Data.bytes(entry));
    this.blocksAdded++;
    throw new RefcountBlockAdded();
  }

  /**
   * `update_refcount`: add to (or take from) the refcount of every cluster the range touches; a
   * cluster whose refcount drops to 0 is discarded below when `discard` says so.
   */
  #update(offset: number, length: number, addend: number, decrease: boolean, discard = false): void {
    if (length <= 0) return;
    if (decrease) {
      // qcow2_cache_set_dependency(refcount_block_cache, l2_table_cache): an L2 entry must be gone
      // from the image before the refcount that counted it.
      if (this.l2DependsOnRefcounts) {
        this.flush();
        this.l2DependsOnRefcounts = false;
      }
      this.#dependsOnL2 = true;
    }
    const cs = this.#clusterSize;
    const start = offset - (offset % cs);
    const last = offset + length - 1 - ((offset + length - 1) % cs);
    let done = start;
    try {
      for (let c = start; c <= last; c += cs) {
        const index = c / cs;
        const blockOffset = this.#ensureBlock(index);
        const i = index % this.#perBlock;
        let refcount = this.#entry(this.#block(blockOffset), i);
        if (decrease ? refcount < addend : refcount + addend > this.#max()) ioFail(Errno.EINVAL);
        refcount += decrease ? -addend : addend;
        if (refcount === 0 && index < this.freeClusterIndex) this.freeClusterIndex = index;
        this.#set(blockOffset, i, refcount);
        if (refcount === 0) {
          // A freed cluster that held a cached refcount block leaves the cache unwritten.
          if (this.#cache.holds(c)) {
            this.#cache.discard(c, cs);
            this.#blocks.delete(c);
          }
          this.io.forget(c);
          if (discard) this.#queueDiscard(c, cs);
        }
        done = c + cs;
      }
      if (!this.cacheDiscards) this.processDiscards(true);
    } catch (e) {
      if (!this.cacheDiscards) this.processDiscards(false);
      // The caller searches again from the same clusters first.
      if (e instanceof RefcountBlockAdded && this.freeClusterIndex > start / cs) this.freeClusterIndex = start / cs;
      // update_refcount's fail path undoes what was done.
      if (done > start) this.#update(start, done - start, addend, !decrease);
      throw e;
    }
  }

  /**
   * `update_refcount_discard`: the range joins a queued one it touches (and any other that then
   * touches it), else queues on its own.
   */
  #queueDiscard(offset: number, bytes: number): void {
    let d = this.#discards.find((r) => Math.max(offset + bytes, r.offset + r.bytes) - Math.min(offset, r.offset) <= bytes + r.bytes);
    if (d) {
      const start = Math.min(offset, d.offset);
      d.bytes = Math.max(offset + bytes, d.offset + d.bytes) - start;
      d.offset = start;
    } else {
      d = { offset, bytes };
      this.#discards.push(d);
    }
    for (let i = this.#discards.length - 1; i >= 0; i--) {
      const p = this.#discards[i]!;
      if (p === d || p.offset > d.offset + d.bytes || d.offset > p.offset + p.bytes) continue;
      this.#discards.splice(i, 1);
      d.offset = Math.min(d.offset, p.offset);
      d.bytes += p.bytes;
    }
  }

  /** `qcow2_process_discards`: each queued range discarded below, in queue order, unless the request failed (`ok`). */
  processDiscards(ok: boolean): void {
    for (const r of this.#discards.splice(0)) if (ok) this.io.discard(r.offset, r.bytes);
  }

  /** `alloc_clusters_noref`: the first run of free clusters from the cursor on. */
  #allocNoref(size: number): number {
    // Clusters still queued for discard cannot be allocated again.
    if (this.cacheDiscards) this.processDiscards(true);
    const n = Math.ceil(size / this.#clusterSize);
    for (;;) {
      let found = true;
      for (let i = 0; i < n; i++) {
        if (this.get(this.freeClusterIndex++) !== 0) {
          found = false;
          break;
        }
      }
      if (found) return (this.freeClusterIndex - n) * this.#clusterSize;
    }
  }

  /** Retry `body` while it placed a new refcount block (-EAGAIN). */
  #retrying<T>(body: () => T): T {
    for (;;) {
      try {
        return body();
      } catch (e) {
        if (!(e instanceof RefcountBlockAdded)) throw e;
      }
    }
  }

  /**
   * The loop of `qcow2_detect_metadata_preallocation`: whether the refcounts of the file's clusters
   * count clearly more of them than the file has allocated. A corruption or a failed read throws.
   */
  countsMoreThanAllocated(fileLength: number, realAllocation: number): boolean {
    const realClusters = Math.floor(realAllocation / this.#clusterSize);
    const threshold = Math.max(Math.floor((realClusters * 10) / 9), realClusters + 2);
    const end = Math.ceil(fileLength / this.#clusterSize);
    let count = 0;
    for (let i = 0; i < end && count < threshold; i++) {
      // Clusters no refcount block describes count nothing (qcow2_get_refcount answers 0 at once).
      if (i % this.#perBlock === 0 && this.table.exactAt(i / this.#perBlock) === 0n) {
        i += this.#perBlock - 1;
        continue;
      }
      if (this.get(i) !== 0) count++;
    }
    return count >= threshold;
  }

  /** `qcow2_alloc_clusters`. */
  allocClusters(size: number): number {
    return this.#retrying(() => {
      const offset = this.#allocNoref(size);
      this.#update(offset, size, 1, false);
      return offset;
    });
  }

  /** `qcow2_alloc_clusters_at`: as many of `n` clusters from `offset` on as are free; how many. */
  allocClustersAt(offset: number, n: number): number {
    return this.#retrying(() => {
      let i = 0;
      while (i < n && this.get(offset / this.#clusterSize + i) === 0) i++;
      this.#update(offset, i * this.#clusterSize, 1, false);
      return i;
    });
  }

  /** `qcow2_alloc_bytes`: room for a compressed cluster, packed after the previous one. */
  allocBytes(size: number): number {
    const cs = this.#clusterSize;
    let offset = this.freeByteOffset;
    if (offset && this.get(Math.floor(offset / cs)) === this.#max()) offset = 0;
    let freeInCluster = cs - (offset % cs);
    for (;;) {
      if (!offset || freeInCluster < size) {
        const fresh = this.#allocNoref(cs);
        if (fresh === 0) this.io.corrupt("Preventing invalid allocation of compressed cluster at offset 0");
        if (!offset || Math.ceil(offset / cs) * cs !== fresh) {
          offset = fresh;
          freeInCluster = cs;
        } else {
          freeInCluster += cs;
        }
      }
      try {
        this.#update(offset, size, 1, false);
        break;
      } catch (e) {
        if (!(e instanceof RefcountBlockAdded)) throw e;
        offset = 0;
      }
    }
    this.setL2DependsOnRefcounts();
    this.freeByteOffset = (offset + size) % cs ? offset + size : 0;
    return offset;
  }

  /** `qcow2_free_clusters`; `discard`: whether `s->discard_passthrough[type]` is set for the caller's type. */
  free(offset: number, size: number, discard: boolean): void {
    this.#update(offset, size, 1, true, discard);
  }
}
