/**
 * qcow2 refcounts and cluster allocation (block/qcow2-refcount.c): the refcount table (read at
 * open) and refcount blocks (read when first needed), `update_refcount`, `alloc_refcount_block`,
 * `alloc_clusters_noref`, `qcow2_alloc_clusters`, `qcow2_alloc_clusters_at`, `qcow2_alloc_bytes`
 * and `qcow2_free_clusters`, with QEMU's cursors, so clusters are handed out in QEMU's order.
 */
import { Data } from "../data.js";
import { Errno, ioFail, ModelIoUnsupportedError } from "../io-error.js";
import { cHex } from "./qcow2-corruption.js";
import type { RefcountTable } from "./qcow2-image.js";

/** How the refcounts reach the image: through the qcow2 node's `file` child. */
export interface MetadataIo {
  read(offset: number, bytes: number): Buffer;
  write(offset: number, data: Data): void;
  /** Discard a freed cluster in the node below (s->discard_passthrough). */
  discard(offset: number, bytes: number): void;
  /** A freed cluster may have held a cached L2 table: drop it (qcow2_cache_discard). */
  forget(offset: number): void;
  /** `qcow2_signal_corruption` (fatal), then -EIO. */
  corrupt(message: string): never;
}

/** `alloc_refcount_block` placed a new refcount block: the caller searches for free clusters again (-EAGAIN). */
class RefcountBlockAdded extends Error {}

export class Qcow2Refcounts {
  readonly #clusterSize: number;
  readonly #bytes: number;
  /** Refcounts per block (2^refcount_block_bits). */
  readonly #perBlock: number;
  readonly #blocks = new Map<number, Buffer>();
  /** s->free_cluster_index: where the search for free clusters starts. */
  freeClusterIndex = 0;
  /** s->free_byte_offset: where the next compressed cluster is packed (0: start a new cluster). */
  freeByteOffset = 0;
  /** How many refcount blocks were placed (each written at once, so the allocating coroutine waits). */
  blocksAdded = 0;
  /**
   * A refcount changed since QEMU last wrote its refcount block cache (qcow2_write_caches): the
   * model wrote it at once, QEMU still holds it, and loses it with the driver.
   */
  unflushed = false;

  constructor(
    private readonly io: MetadataIo,
    clusterBits: number,
    refcountOrder: number,
    private readonly tableOffset: number,
    private readonly table: RefcountTable,
  ) {
    if (refcountOrder < 3 || refcountOrder > 5) throw new ModelIoUnsupportedError(`qcow2 images with ${2 ** refcountOrder}-bit refcounts`);
    this.#clusterSize = 2 ** clusterBits;
    this.#bytes = 2 ** refcountOrder / 8;
    this.#perBlock = this.#clusterSize / this.#bytes;
  }

  /** Where the refcount table and its blocks are: [offset, bytes, what QEMU's overlap check calls it]. */
  metadataRanges(): Array<[number, number, string]> {
    const ranges: Array<[number, number, string]> = [[this.tableOffset, this.table.length * 8, "refcount table"]];
    for (const o of this.table.blocks()) ranges.push([o, this.#clusterSize, "refcount block"]);
    return ranges;
  }

  /**
   * The refcount blocks as `qcow2_shrink_reftable` loads them, in table order: an unaligned offset
   * is a corruption qcow2_cache_get finds.
   */
  loadAllBlocks(): void {
    const all = this.table.toArray();
    for (let i = 0; i < all.length; i++) {
      if (all[i] === 0) continue;
      const exact = this.table.exactAt(i);
      if (exact % BigInt(this.#clusterSize) !== 0n) this.io.corrupt(`Cannot get entry from refcount block cache: Offset ${cHex(exact)} is unaligned`);
    }
  }

  /** How many refcount blocks the refcount table points to. */
  get allocatedBlocks(): number {
    return this.table.blocks().length;
  }

  /** A reopen empties the refcount block cache (`qcow2_update_options_commit`). */
  dropCache(): void {
    this.#blocks.clear();
  }

  /** Whether the refcount blocks that describe the first `clusters` clusters are all in the cache (or not allocated). */
  blocksCached(clusters: number): boolean {
    const blocks = Math.min(Math.ceil(clusters / this.#perBlock), this.table.length);
    for (let i = 0; i < blocks; i++) {
      const o = this.table.get(i);
      if (o && !this.#blocks.has(o)) return false;
    }
    return true;
  }

  #block(blockOffset: number): Buffer {
    let b = this.#blocks.get(blockOffset);
    if (!b) this.#blocks.set(blockOffset, (b = this.io.read(blockOffset, this.#clusterSize)));
    return b;
  }

  #max(): number {
    return 2 ** (this.#bytes * 8) - 1;
  }

  /** `qcow2_get_refcount`: 0 for clusters no refcount block describes. */
  get(clusterIndex: number): number {
    const blockOffset = this.#checked(Math.floor(clusterIndex / this.#perBlock));
    if (!blockOffset) return 0;
    return this.#block(blockOffset).readUIntBE((clusterIndex % this.#perBlock) * this.#bytes, this.#bytes);
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

  /**
   * A refcount change, written back at once; as QEMU's refcount block cache does at a flush, the
   * whole block (qcow2_cache_entry_flush), which is what a dirty bitmap on the file records.
   */
  #set(blockOffset: number, i: number, value: number): void {
    const block = this.#block(blockOffset);
    this.unflushed = true;
    block.writeUIntBE(value, i * this.#bytes, this.#bytes);
    this.io.write(blockOffset, Data.bytes(Buffer.from(block)));
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
    const fresh = this.#allocNoref(this.#clusterSize);
    if (fresh === 0) throw new ModelIoUnsupportedError("a refcount block allocated at offset 0 (QEMU marks the image corrupt and takes the node's driver away)");
    const freshIndex = fresh / this.#clusterSize;
    const block = Buffer.alloc(this.#clusterSize);
    if (Math.floor(freshIndex / this.#perBlock) === tableIndex) {
      block.writeUIntBE(1, (freshIndex % this.#perBlock) * this.#bytes, this.#bytes);
    } else {
      this.#update(fresh, this.#clusterSize, 1, false);
    }
    this.#blocks.set(fresh, block);
    this.io.write(fresh, Data.bytes(Buffer.from(block)));
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
    const cs = this.#clusterSize;
    const start = offset - (offset % cs);
    const last = offset + length - 1 - ((offset + length - 1) % cs);
    let done = start;
    try {
      for (let c = start; c <= last; c += cs) {
        const index = c / cs;
        const blockOffset = this.#ensureBlock(index);
        const i = index % this.#perBlock;
        let refcount = this.#block(blockOffset).readUIntBE(i * this.#bytes, this.#bytes);
        if (decrease ? refcount < addend : refcount + addend > this.#max()) ioFail(Errno.EINVAL);
        refcount += decrease ? -addend : addend;
        if (refcount === 0 && index < this.freeClusterIndex) this.freeClusterIndex = index;
        this.#set(blockOffset, i, refcount);
        if (refcount === 0) {
          this.io.forget(c);
          if (discard) this.io.discard(c, cs);
        }
        done = c + cs;
      }
    } catch (e) {
      // The caller searches again from the same clusters first.
      if (e instanceof RefcountBlockAdded && this.freeClusterIndex > start / cs) this.freeClusterIndex = start / cs;
      // update_refcount's fail path undoes what was done.
      if (done > start) this.#update(start, done - start, addend, !decrease);
      throw e;
    }
  }

  /** `alloc_clusters_noref`: the first run of free clusters from the cursor on. */
  #allocNoref(size: number): number {
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
        if (fresh === 0) throw new ModelIoUnsupportedError("a compressed cluster allocated at offset 0 (QEMU marks the image corrupt and takes the node's driver away)");
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
    this.freeByteOffset = (offset + size) % cs ? offset + size : 0;
    return offset;
  }

  /** `qcow2_free_clusters`; `discard`: whether `s->discard_passthrough[type]` is set for the caller's type. */
  free(offset: number, size: number, discard: boolean): void {
    this.#update(offset, size, 1, true, discard);
  }
}
