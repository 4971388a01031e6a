/**
 * Loaded scenarios kept across runs (src/runner/load-cache.ts): what comes back from the cache is
 * exactly what loading gives, it is keyed by everything the load depends on, a file with errors is
 * never kept, and a cache that is damaged, full or unwritable costs only itself.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import v8 from "node:v8";
import { deflateRawSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { discover, type ScenarioFile } from "../../src/runner/discovery.js";
import { loadScenarioFile, type LoadResult } from "../../src/runner/load.js";
import { LoadCache, type LoadCacheConfig } from "../../src/runner/load-cache.js";

const BUILD = "a".repeat(64);
let dir: string;
let work: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "bc-load-cache-"));
  work = mkdtempSync(path.join(os.tmpdir(), "bc-load-work-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

const cacheOf = (over: Partial<LoadCacheConfig> = {}) => new LoadCache({ dir, buildId: BUILD, files: 1, ...over });
const entries = (build = BUILD) => readdirSync(path.join(dir, build.slice(0, 16)));

/** A scenario file in the work directory. */
function scenarioFile(name: string, text: string): ScenarioFile {
  const abs = path.join(work, `${name}.scn`);
  writeFileSync(abs, text);
  return { abs, rel: `${name}.scn` } as ScenarioFile;
}

const instancesOf = (r: LoadResult) => {
  if (!r.ok) throw new Error(r.failure.message);
  return r.instances;
};

describe("the load cache", () => {
  it("gives back exactly what every scenario of the repository loads to", async () => {
    const root = path.resolve("tests/scenarios");
    const { files } = await discover(root, [], process.cwd());
    const cache = cacheOf({ files: files.length });
    let kept = 0;
    for (const f of files) {
      const fresh = await loadScenarioFile(f, process.cwd());
      const first = await loadScenarioFile(f, process.cwd(), cache);
      const again = await loadScenarioFile(f, process.cwd(), cache);
      expect(isDeepStrictEqual(first, fresh)).toBe(true);
      expect(isDeepStrictEqual(again, fresh), f.rel).toBe(true);
      if (fresh.ok) kept++;
    }
    expect(entries()).toHaveLength(kept);
  });

  it("keeps -0, Infinity and parameter expansions as they loaded", async () => {
    const f = scenarioFile(
      "values",
      'scenario "values"\neach fmt in qcow2 raw\nqmp query-version {"a": -0, "b": 1e999, "c": [-0.0]} -> error "Parameter \'a\' is unexpected"\nadd n: null-co\n',
    );
    const cache = cacheOf();
    const fresh = instancesOf(await loadScenarioFile(f, work));
    instancesOf(await loadScenarioFile(f, work, cache));
    const again = instancesOf(await loadScenarioFile(f, work, cache));
    expect(again).toHaveLength(2);
    expect(isDeepStrictEqual(again, fresh)).toBe(true);
    const json = again[0]!.scenario.statements.find((s) => s.type === "qmp") as unknown as { args: { value: Record<string, unknown> } };
    expect(Object.is(json.args.value.a, -0)).toBe(true);
    expect(json.args.value.b).toBe(Infinity);
  });

  it("reads an entry back instead of loading the file again", async () => {
    const f = scenarioFile("read-back", 'scenario "the file"\nadd n: null-co\n');
    const cache = cacheOf();
    const loaded = instancesOf(await loadScenarioFile(f, work, cache));
    const [entry] = entries();
    writeFileSync(path.join(dir, BUILD.slice(0, 16), entry!), deflateRawSync(v8.serialize([{ ...loaded[0], title: "from the cache" }])));
    expect(instancesOf(await loadScenarioFile(f, work, cache))[0]!.title).toBe("from the cache");
  });

  it("is keyed by the build, the file's content and its names", () => {
    const bytes = Buffer.from('scenario "x"\nadd n: null-co\n');
    const key = cacheOf().key("a.scn", "a", bytes)!;
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(cacheOf().key("a.scn", "a", Buffer.from('scenario "y"\nadd n: null-co\n'))).not.toBe(key);
    expect(cacheOf().key("b/a.scn", "a", bytes)).not.toBe(key);
    expect(cacheOf().key("a.scn", "b", bytes)).not.toBe(key);
    const other = new LoadCache({ dir, buildId: "b".repeat(64), files: 1 });
    other.put(key, []);
    expect(cacheOf().get(key)).toBeUndefined();
    expect(other.get(key)).toEqual([]);
  });

  it("never keeps a file with errors: its diagnostics are made each time", async () => {
    const f = scenarioFile("broken", 'scenario "broken"\nadd n: no-such-driver\n');
    const cache = cacheOf();
    const first = await loadScenarioFile(f, work, cache);
    expect(first.ok).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
    expect(await loadScenarioFile(f, work, cache)).toEqual(first);
  });

  it("takes a damaged entry as a miss, and writes it again", async () => {
    const f = scenarioFile("damaged", 'scenario "d"\nadd n: null-co\n');
    const cache = cacheOf();
    const fresh = await loadScenarioFile(f, work, cache);
    const file = path.join(dir, BUILD.slice(0, 16), entries()[0]!);
    for (const junk of [Buffer.from("not deflated"), deflateRawSync(Buffer.from("not v8")), deflateRawSync(v8.serialize({ not: "a list" }))]) {
      writeFileSync(file, junk);
      expect(await loadScenarioFile(f, work, cache)).toEqual(fresh);
    }
    expect(await loadScenarioFile(f, work, new LoadCache({ dir, buildId: BUILD, files: 1 }))).toEqual(fresh);
  });

  it("loads as usual where the cache cannot be written", async () => {
    const blocker = path.join(dir, "file");
    writeFileSync(blocker, "x");
    const f = scenarioFile("unwritable", 'scenario "u"\nadd n: null-co\n');
    const fresh = await loadScenarioFile(f, work);
    const cache = new LoadCache({ dir: path.join(blocker, "cache"), buildId: BUILD, files: 1 });
    expect(await loadScenarioFile(f, work, cache)).toEqual(fresh);
    expect(await loadScenarioFile(f, work, cache)).toEqual(fresh);
  });

  it("holds a bounded number of entries: the oldest quarter goes, and a run larger than that writes none", async () => {
    const cache = cacheOf({ files: 8, maxEntries: 8 });
    for (let i = 0; i < 8; i++) {
      cache.put(`k${i}`, []);
      // Written in order, a second apart: the eviction goes by age.
      utimesSync(path.join(dir, BUILD.slice(0, 16), `k${i}`), 1000 + i, 1000 + i);
    }
    cache.put("k8", []);
    expect(entries().sort()).toEqual(["k2", "k3", "k4", "k5", "k6", "k7", "k8"]);
    const tooBig = cacheOf({ files: 9, maxEntries: 8 });
    tooBig.put("k9", []);
    expect(entries()).not.toContain("k9");
  });

  it("past its bound, reads only the entries it holds, and hashes nothing when it holds none", async () => {
    const f = scenarioFile("big", 'scenario "big"\nadd n: null-co\n');
    const bytes = Buffer.from('scenario "big"\nadd n: null-co\n');
    // Nothing kept: no key, so no file hashed and no entry looked for (each failed read was an exception).
    expect(cacheOf({ files: 9, maxEntries: 8 }).key("big.scn", "big", bytes)).toBeUndefined();
    const small = cacheOf();
    const loaded = instancesOf(await loadScenarioFile(f, work, small));
    const [entry] = entries();
    writeFileSync(path.join(dir, BUILD.slice(0, 16), entry!), deflateRawSync(v8.serialize([{ ...loaded[0], title: "kept" }])));
    // An entry an earlier, smaller run wrote is still read.
    const big = cacheOf({ files: 9, maxEntries: 8 });
    expect(big.key("big.scn", "big", bytes)).toBe(entry);
    expect(instancesOf(await loadScenarioFile(f, work, big))[0]!.title).toBe("kept");
  });

  it("removes the directories of all but the newest builds when a new build first writes", () => {
    for (let i = 0; i < 4; i++) {
      const old = path.join(dir, `old${i}`);
      mkdirSync(old);
      utimesSync(old, 1000 + i, 1000 + i);
    }
    cacheOf().put("k", []);
    expect(readdirSync(dir).sort()).toEqual([BUILD.slice(0, 16), "old2", "old3"]);
  });
});
