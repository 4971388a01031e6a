/**
 * qcow2's runtime options (read_cache_sizes, qcow2_update_options_prepare): the cache geometry and
 * flags they set, which no query shows, and the rules the scenarios check against QEMU.
 */
import { describe, expect, it } from "vitest";
import { qcow2UpdateOptionsPrepare, type Qcow2OptionsContext } from "../../src/engines/model/drivers/qcow2-options.js";
import type { Qcow2Header } from "../../src/engines/model/images/read-image.js";
import { QmpFailure } from "../../src/engines/model/qmp-failure.js";
import { MallocHeap } from "../../src/engines/model/data/malloc-heap.js";

function header(over: Partial<Qcow2Header> = {}): Qcow2Header {
  return {
    virtualSize: 1 << 30,
    backingFile: "",
    backingFormat: "",
    version: 3,
    clusterSize: 65536,
    refcountBits: 16,
    externalDataFile: false,
    dataFile: "",
    firstCluster: "unallocated",
    cryptMethod: 0,
    lazyRefcounts: false,
    incompatibleFeatures: 0n,
    extendedL2: false,
    dataFileRaw: false,
    compressionType: 0,
    ...over,
  };
}

function ctx(over: Partial<Qcow2Header> = {}, unmap = false): Qcow2OptionsContext {
  const h = header(over);
  return { header: h, virtualDiskSize: h.virtualSize, unmap, heap: new MallocHeap() };
}

function failure(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof QmpFailure) return e.body.desc;
    throw e;
  }
  throw new Error("expected a QmpFailure");
}

describe("qcow2 runtime options", () => {
  it("defaults: the whole disk's L2 tables in one-cluster entries, four refcount clusters, checks 'cached'", () => {
    const r = qcow2UpdateOptionsPrepare(ctx(), {});
    // Every check but inactive L2 tables. 1 GiB / 64 KiB clusters * 8 bytes = 128 KiB of L2 tables: two whole-cluster entries.
    expect(r).toMatchObject({ l2CacheEntries: 2, l2CacheEntrySize: 65536, refcountCacheEntries: 4, cacheCleanInterval: 600 });
    expect(r.overlapCheck).toBe(0b101111111);
    expect([r.passDiscardRequest, r.passDiscardSnapshot, r.passDiscardOther, r.useLazyRefcounts]).toEqual([false, true, false, false]);
  });

  it("a cache smaller than the disk's L2 tables takes 4 KiB entries", () => {
    const r = qcow2UpdateOptionsPrepare(ctx({ virtualSize: 2 ** 40 }), {});
    // 1 TiB needs 128 MiB of L2 tables; the default maximum is 32 MiB.
    expect(r).toMatchObject({ l2CacheEntrySize: 4096, l2CacheEntries: (32 << 20) / 4096 });
  });

  it("cache-size alone goes to the L2 cache first, keeping the refcount minimum", () => {
    const big = qcow2UpdateOptionsPrepare(ctx(), { "cache-size": 1 << 20 });
    expect(big).toMatchObject({ l2CacheEntries: 2, refcountCacheEntries: (1048576 - 131072) / 65536 });
    const small = qcow2UpdateOptionsPrepare(ctx(), { "cache-size": 65536 * 5 });
    // Less than all L2 tables plus four refcount clusters: the refcount cache keeps its four.
    expect(small).toMatchObject({ refcountCacheEntries: 4, l2CacheEntrySize: 4096, l2CacheEntries: 16 });
  });

  it("extended L2 entries are twice as large", () => {
    const r = qcow2UpdateOptionsPrepare(ctx({ extendedL2: true }), {});
    expect(r).toMatchObject({ l2CacheEntries: 4, l2CacheEntrySize: 65536 });
  });

  it("takes what it absorbs out of the options and leaves the rest", () => {
    const options = { "lazy-refcounts": true, "overlap-check.template": "none", "overlap-check.main-header": true, "encrypt.format": undefined, driver: "qcow2" };
    delete options["encrypt.format"];
    const r = qcow2UpdateOptionsPrepare(ctx(), options);
    expect(r.useLazyRefcounts).toBe(true);
    expect(r.overlapCheck).toBe(1);
    expect(options).toEqual({ driver: "qcow2" });
  });

  it("pass-discard-request follows discard=unmap unless given", () => {
    expect(qcow2UpdateOptionsPrepare(ctx({}, true), {}).passDiscardRequest).toBe(true);
    expect(qcow2UpdateOptionsPrepare(ctx({}, true), { "pass-discard-request": false }).passDiscardRequest).toBe(false);
  });

  it("refuses what QEMU refuses, with its messages", () => {
    expect(failure(() => qcow2UpdateOptionsPrepare(ctx({ version: 2 }), { "lazy-refcounts": true }))).toBe(
      "Lazy refcounts require a qcow2 image with at least qemu 1.1 compatibility level",
    );
    // Only a header's lazy-refcounts bit on a version 2 image makes the default fail too.
    expect(failure(() => qcow2UpdateOptionsPrepare(ctx({ version: 2, lazyRefcounts: true }), {}))).toMatch(/^Lazy refcounts/);
    expect(failure(() => qcow2UpdateOptionsPrepare(ctx(), { "overlap-check": "none", "overlap-check.template": "all" }))).toBe(
      "Conflicting values for qcow2 options 'overlap-check' ('none') and 'overlap-check.template' ('all')",
    );
    expect(failure(() => qcow2UpdateOptionsPrepare(ctx(), { "overlap-check": "most" }))).toBe(
      "Unsupported value 'most' for qcow2 option 'overlap-check'. Allowed are any of the following: none, constant, cached, all",
    );
    expect(failure(() => qcow2UpdateOptionsPrepare(ctx(), { "l2-cache-size": "1X" }))).toBe(
      "Parameter 'l2-cache-size' expects a non-negative number below 2^64",
    );
    expect(failure(() => qcow2UpdateOptionsPrepare(ctx(), { "cache-clean-interval": "soon" }))).toBe("Parameter 'cache-clean-interval' expects a number");
    expect(failure(() => qcow2UpdateOptionsPrepare(ctx(), { "lazy-refcounts": "maybe" }))).toBe("Parameter 'lazy-refcounts' expects 'on' or 'off'");
    expect(failure(() => qcow2UpdateOptionsPrepare(ctx({ cryptMethod: 2 }), { "encrypt.format": "aes" }))).toBe(
      "Header reported 'luks' encryption format but options specify 'aes'",
    );
    expect(failure(() => qcow2UpdateOptionsPrepare(ctx({ cryptMethod: 7 }), {}))).toBe("Unsupported encryption method 7");
  });

  it("a string size is parsed as QemuOpts parses it", () => {
    expect(qcow2UpdateOptionsPrepare(ctx(), { "l2-cache-entry-size": "4k" }).l2CacheEntrySize).toBe(4096);
  });
});
