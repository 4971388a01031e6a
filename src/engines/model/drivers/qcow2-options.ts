/**
 * qcow2's runtime options (block/qcow2.c: `qcow2_runtime_opts`, `read_cache_sizes`,
 * `qcow2_update_options_prepare`): checked in QEMU's order with its messages, at open and at
 * every reopen, into the state a commit installs.
 */
import { readFileSync } from "node:fs";
import { totalmem } from "node:os";
import type { Flat } from "../graph.js";
import type { HeapBlock, MallocHeap } from "../data/malloc-heap.js";
import type { Qcow2Header } from "../images/read-image.js";
import { ModelUnsupportedError } from "../model-unsupported.js";
import { extractSub } from "../options.js";
import { fail } from "../qmp-failure.js";
import { absorbQemuOpts, type QemuOpts, type QemuOptType } from "./qemu-opts.js";

/** The overlap-check flags' options, by bit (QCOW2_OL_*_BITNR). */
export const OVERLAP_BOOL_OPTS = [
  "overlap-check.main-header",
  "overlap-check.active-l1",
  "overlap-check.active-l2",
  "overlap-check.refcount-table",
  "overlap-check.refcount-block",
  "overlap-check.snapshot-table",
  "overlap-check.inactive-l1",
  "overlap-check.inactive-l2",
  "overlap-check.bitmap-directory",
] as const;

/** qcow2_runtime_opts (the `encrypt.` key-secret is taken out with the other `encrypt.` options first). */
const RUNTIME_OPTS: Readonly<Record<string, QemuOptType>> = {
  "lazy-refcounts": "bool",
  "pass-discard-request": "bool",
  "pass-discard-snapshot": "bool",
  "pass-discard-other": "bool",
  "overlap-check": "string",
  "overlap-check.template": "string",
  ...Object.fromEntries(OVERLAP_BOOL_OPTS.map((k) => [k, "bool"])),
  "cache-size": "size",
  "l2-cache-size": "size",
  "l2-cache-entry-size": "size",
  "refcount-cache-size": "size",
  "cache-clean-interval": "number",
};

/** `mutable_opts`: every runtime option may be left out on reopen. */
export const QCOW2_MUTABLE_OPTS = Object.keys(RUNTIME_OPTS);

const MIN_CLUSTER_BITS = 9;
/** Cache entries (MIN_L2_CACHE_SIZE) and clusters (MIN_REFCOUNT_CACHE_SIZE). */
const MIN_L2_CACHE_SIZE = 2n;
const MIN_REFCOUNT_CACHE_SIZE = 4n;
/** The Linux defaults. */
const DEFAULT_L2_CACHE_MAX_SIZE = 32n << 20n;
const DEFAULT_CACHE_CLEAN_INTERVAL = 600n;
const INT_MAX = 2n ** 31n - 1n;
const UINT_MAX = 2n ** 32n - 1n;

const QCOW2_OL_CONSTANT = 0b100101011; // main header, active L1, refcount table, snapshot table, bitmap directory
const QCOW2_OL_CACHED = QCOW2_OL_CONSTANT | 0b001010100; // + active L2, refcount block, inactive L1
const QCOW2_OL_ALL = QCOW2_OL_CACHED | 0b010000000; // + inactive L2
const TEMPLATES: Readonly<Record<string, number>> = { none: 0, constant: QCOW2_OL_CONSTANT, cached: QCOW2_OL_CACHED, all: QCOW2_OL_ALL };

/** Qcow2ReopenState: what the options set, installed by `qcow2_update_options_commit`. */
export interface Qcow2Runtime {
  /** The metadata caches: L2 entries of `l2CacheEntrySize` bytes, refcount entries of one cluster. */
  l2CacheEntries: number;
  l2CacheEntrySize: number;
  refcountCacheEntries: number;
  cacheCleanInterval: number;
  useLazyRefcounts: boolean;
  /** Bitmask of QCOW2_OL_* checks. */
  overlapCheck: number;
  /** discard_passthrough for QCOW2_DISCARD_REQUEST, _SNAPSHOT, _OTHER. */
  passDiscardRequest: boolean;
  passDiscardSnapshot: boolean;
  passDiscardOther: boolean;
  /** The caches' memory (r->l2_table_cache and r->refcount_block_cache), freed with them. */
  cacheMemory: Qcow2CacheMemory;
}

/** The table arrays of the two caches, as qcow2_cache_create takes them and qcow2_cache_destroy frees them. */
export interface Qcow2CacheMemory {
  l2: HeapBlock;
  refcount: HeapBlock;
}

/** `qcow2_cache_destroy` of both caches, L2 first (qcow2_update_options_abort and _commit, qcow2_close). */
export function freeCacheMemory(heap: MallocHeap, memory: Qcow2CacheMemory): void {
  heap.free(memory.l2);
  heap.free(memory.refcount);
}

/** What the options are checked against: the image and the node. */
export interface Qcow2OptionsContext {
  header: Qcow2Header;
  /** bs->total_sectors * BDRV_SECTOR_SIZE. */
  virtualDiskSize: number;
  /** BDRV_O_UNMAP in the (new) open flags: the default of pass-discard-request. */
  unmap: boolean;
  /** Where the caches' memory comes from. */
  heap: MallocHeap;
}

/**
 * `qcow2_update_options_prepare`: takes the runtime options and the `encrypt.` ones out of
 * `options` and checks them. Throws QmpFailure with QEMU's message.
 */
export function qcow2UpdateOptionsPrepare(ctx: Qcow2OptionsContext, options: Flat): Qcow2Runtime {
  const encryptOpts = extractSub(options, "encrypt.");
  const encryptFmt = typeof encryptOpts["format"] === "string" ? encryptOpts["format"] : undefined;
  const opts = absorbQemuOpts(options, RUNTIME_OPTS);
  const { header } = ctx;
  const clusterSize = BigInt(header.clusterSize);

  const sizes = readCacheSizes(ctx, opts);
  let l2Entries = sizes.l2CacheSize / sizes.l2CacheEntrySize;
  if (l2Entries < MIN_L2_CACHE_SIZE) l2Entries = MIN_L2_CACHE_SIZE;
  if (l2Entries > INT_MAX) fail("L2 cache size too big");
  let refcountEntries = sizes.refcountCacheSize / clusterSize;
  if (refcountEntries < MIN_REFCOUNT_CACHE_SIZE) refcountEntries = MIN_REFCOUNT_CACHE_SIZE;
  if (refcountEntries > INT_MAX) fail("Refcount cache size too big");
  // qcow2_cache_create: each table array is one qemu_try_blockalign, which the host refuses
  // when it is larger than it could ever back (Linux's overcommit heuristic: RAM plus swap).
  const biggest = l2Entries * sizes.l2CacheEntrySize > refcountEntries * clusterSize ? l2Entries * sizes.l2CacheEntrySize : refcountEntries * clusterSize;
  if (biggest > ALWAYS_GRANTED && biggest > allocationLimit()) {
    fail("Could not allocate metadata caches");
  }
  const cacheMemory = {
    l2: ctx.heap.blockalign(Number(l2Entries * sizes.l2CacheEntrySize)),
    refcount: ctx.heap.blockalign(Number(refcountEntries * clusterSize)),
  };
  try {
    return { ...afterCaches(ctx, opts, encryptFmt), l2CacheEntries: Number(l2Entries), l2CacheEntrySize: Number(sizes.l2CacheEntrySize), refcountCacheEntries: Number(refcountEntries), cacheMemory };
  } catch (e) {
    // qcow2_update_options_abort.
    freeCacheMemory(ctx.heap, cacheMemory);
    throw e;
  }
}

/** The options `qcow2_update_options_prepare` checks once it made the caches. */
function afterCaches(
  ctx: Qcow2OptionsContext,
  opts: QemuOpts,
  encryptFmt: string | undefined,
): Omit<Qcow2Runtime, "l2CacheEntries" | "l2CacheEntrySize" | "refcountCacheEntries" | "cacheMemory"> {
  const { header } = ctx;
  const cacheCleanInterval = opts.uint("cache-clean-interval", DEFAULT_CACHE_CLEAN_INTERVAL);
  if (cacheCleanInterval > UINT_MAX) fail("Cache clean interval too big");

  const useLazyRefcounts = opts.bool("lazy-refcounts", header.lazyRefcounts);
  if (useLazyRefcounts && header.version < 3) {
    fail("Lazy refcounts require a qcow2 image with at least qemu 1.1 compatibility level");
  }

  let overlap = opts.str("overlap-check");
  const template = opts.str("overlap-check.template");
  if (template !== undefined && overlap !== undefined && template !== overlap) {
    fail(`Conflicting values for qcow2 options 'overlap-check' ('${overlap}') and 'overlap-check.template' ('${template}')`);
  }
  overlap ??= template ?? "cached";
  const templateBits = TEMPLATES[overlap];
  if (templateBits === undefined) {
    fail(`Unsupported value '${overlap}' for qcow2 option 'overlap-check'. Allowed are any of the following: none, constant, cached, all`);
  }
  let overlapCheck = 0;
  OVERLAP_BOOL_OPTS.forEach((name, bit) => {
    // The template sets every flag; each may be overridden by its own option.
    if (opts.bool(name, (templateBits & (1 << bit)) !== 0)) overlapCheck |= 1 << bit;
  });

  const runtime = {
    cacheCleanInterval: Number(cacheCleanInterval),
    useLazyRefcounts,
    overlapCheck,
    passDiscardRequest: opts.bool("pass-discard-request", ctx.unmap),
    passDiscardSnapshot: opts.bool("pass-discard-snapshot", true),
    passDiscardOther: opts.bool("pass-discard-other", false),
  };
  checkEncryption(header.cryptMethod, encryptFmt);
  return runtime;
}

/** The encryption options against the header's crypt method. */
function checkEncryption(cryptMethod: number, encryptFmt: string | undefined): void {
  switch (cryptMethod) {
    case 0:
      if (encryptFmt !== undefined) fail(`No encryption in image header, but options specified format '${encryptFmt}'`);
      return;
    case 1:
    case 2: {
      const expected = cryptMethod === 1 ? "aes" : "luks";
      if (encryptFmt !== undefined && encryptFmt !== expected) {
        fail(`Header reported '${expected}' encryption format but options specify '${encryptFmt}'`);
      }
      // The AES crypto layer (qcrypto_block_open of the legacy qcow cipher) is beyond the model.
      // QAPI has typed LUKS's open options already; the LUKS block opens with the header's
      // CRYPTO extension (images/qcow2-extensions.ts), or fails for want of one.
      if (cryptMethod === 1) throw new ModelUnsupportedError("encrypted qcow2 images");
      return;
    }
    default:
      fail(`Unsupported encryption method ${cryptMethod}`);
  }
}

interface CacheSizes {
  l2CacheSize: bigint;
  l2CacheEntrySize: bigint;
  refcountCacheSize: bigint;
}

/** `read_cache_sizes`. */
function readCacheSizes(ctx: Qcow2OptionsContext, opts: QemuOpts): CacheSizes {
  const clusterSize = BigInt(ctx.header.clusterSize);
  const minRefcountCache = MIN_REFCOUNT_CACHE_SIZE * clusterSize;
  const l2EntrySize = ctx.header.extendedL2 ? 16n : 8n;
  const maxL2Entries = ceilDiv(BigInt(ctx.virtualDiskSize), clusterSize);
  // An L2 table is always one cluster, so the largest useful cache is a whole number of clusters.
  const maxL2Cache = ceilDiv(maxL2Entries * l2EntrySize, clusterSize) * clusterSize;

  const combinedSet = opts.has("cache-size");
  const l2Set = opts.has("l2-cache-size");
  const refcountSet = opts.has("refcount-cache-size");
  const entrySizeSet = opts.has("l2-cache-entry-size");

  const combined = opts.uint("cache-size", 0n);
  const l2MaxSetting = opts.uint("l2-cache-size", DEFAULT_L2_CACHE_MAX_SIZE);
  let refcountCacheSize = opts.uint("refcount-cache-size", 0n);
  let l2CacheEntrySize = opts.uint("l2-cache-entry-size", clusterSize);
  let l2CacheSize = min(maxL2Cache, l2MaxSetting);

  if (combinedSet) {
    if (l2Set && refcountSet) fail("cache-size, l2-cache-size and refcount-cache-size may not be set at the same time");
    if (l2Set && l2MaxSetting > combined) fail("l2-cache-size may not exceed cache-size");
    if (refcountCacheSize > combined) fail("refcount-cache-size may not exceed cache-size");
    // uint64_t arithmetic: a difference that goes below zero wraps.
    if (l2Set) {
      refcountCacheSize = wrap(combined - l2CacheSize);
    } else if (refcountSet) {
      l2CacheSize = wrap(combined - refcountCacheSize);
    } else if (combined >= maxL2Cache + minRefcountCache) {
      // As much as possible to the L2 cache, the rest to the refcount cache.
      l2CacheSize = maxL2Cache;
      refcountCacheSize = combined - l2CacheSize;
    } else {
      refcountCacheSize = min(combined, minRefcountCache);
      l2CacheSize = combined - refcountCacheSize;
    }
  }
  // An L2 cache that cannot cover the whole disk defaults to 4 KiB entries.
  if (l2CacheSize < maxL2Cache && !entrySizeSet) l2CacheEntrySize = min(clusterSize, 4096n);

  const minEntry = 1n << BigInt(MIN_CLUSTER_BITS);
  if (l2CacheEntrySize < minEntry || l2CacheEntrySize > clusterSize || (l2CacheEntrySize & (l2CacheEntrySize - 1n)) !== 0n) {
    fail(`L2 cache entry size must be a power of two between ${minEntry} and the cluster size (${clusterSize})`);
  }
  return { l2CacheSize, l2CacheEntrySize, refcountCacheSize };
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

function wrap(v: bigint): bigint {
  return BigInt.asUintN(64, v);
}

/** Below this the host's limit is not looked up. */
const ALWAYS_GRANTED = 1n << 30n;

/** The largest single allocation the host grants: MemTotal + SwapTotal (Linux), else the RAM. */
function allocationLimit(): bigint {
  try {
    const info = readFileSync("/proc/meminfo", "utf8");
    const kib = (field: string) => BigInt(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(info)?.[1] ?? "0");
    return (kib("MemTotal") + kib("SwapTotal")) * 1024n;
  } catch {
    return BigInt(totalmem());
  }
}
