/**
 * Model results kept across runs (src/runner/result-cache.ts): a file that passed and has not
 * changed reports its results without running, and anything its outcome depends on (its bytes, its
 * golden, an engine-specific golden appearing, the options, the build) makes it run again. Runs
 * that must happen (CI, --keep-scratch, --pictures, a trace, both engines) never read it.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createEngine } from "../../src/engines/factory/create.js";
import type { EngineKind } from "../../src/engines/engine.js";
import { ResultCache, type ResultCacheContext } from "../../src/runner/result-cache.js";
import type { RunOptions } from "../../src/runner/run-all.js";
import { runScenarios } from "../../src/runner/run-all.js";
import type { ScenarioResult } from "../../src/runner/results.js";
import { modelRunOptions } from "./support/run-options.js";

const BUILD = "b".repeat(64);
let dir: string;
let started: number;

const scn = (name: string, extra = "") => `scenario "${name}"\n${extra}add ${name}: null-co\nshow nodes\ndel ${name}\n`;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "bc-result-cache-"));
  mkdirSync(path.join(dir, "tests/scenarios/sub"), { recursive: true });
  writeFileSync(path.join(dir, "tests/scenarios/a.scn"), scn("a"));
  writeFileSync(path.join(dir, "tests/scenarios/sub/b.scn"), scn("b", "each fmt in qcow2 raw\n"));
  writeFileSync(path.join(dir, "tests/scenarios/u.scn"), scn("u", "require unsafe\n"));
  started = 0;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const cacheFile = () => path.join(dir, ".blockcheck/results.json");
const file = (rel: string) => path.join(dir, rel);

function context(over: Partial<ResultCacheContext> = {}): ResultCacheContext {
  return { buildId: BUILD, cwd: dir, goldenRoot: path.join(dir, "golden"), timeoutMs: 10_000, allowUnsafe: false, ...over };
}

/** One run as the CLI makes it: the cache read before, written after. */
async function run(over: Partial<RunOptions> = {}, ctx: Partial<ResultCacheContext> = {}) {
  const cache = ResultCache.read(cacheFile(), context({ timeoutMs: over.timeoutMs ?? 10_000, allowUnsafe: over.allowUnsafe ?? false, ...ctx }));
  const summary = await runScenarios(
    modelRunOptions(dir, {
      resultCache: cache,
      makeEngine: (kind: EngineKind) => {
        started++;
        return createEngine(kind);
      },
      ...over,
    }),
  );
  await cache.write(cacheFile());
  return summary;
}

const cachedIds = (rs: readonly ScenarioResult[]) => rs.filter((r) => r.cached).map((r) => r.id);
/** A result as a later run must report it: its time and the golden's fate aside. */
const comparable = (r: ScenarioResult) => ({ ...r, durationMs: 0, cached: undefined, golden: r.golden && { ...r.golden, status: "match" } });

describe("the result cache", () => {
  it("reports a passing file's runs again without running them, marked as cached", async () => {
    const first = await run({ update: true });
    expect(first.results.map((r) => r.status)).toEqual(["pass", "pass", "pass", "skip"]);
    // Each run makes its engine, the skipped one too.
    expect(started).toBe(4);
    expect(cachedIds(first.results)).toEqual([]);

    started = 0;
    const again = await run();
    expect(started).toBe(0);
    expect(cachedIds(again.results)).toEqual(["a (model)", "sub/b[fmt=qcow2] (model)", "sub/b[fmt=raw] (model)", "u (model)"]);
    expect(again.results.map(comparable)).toEqual(first.results.map(comparable));
    expect(again.results.find((r) => r.id === "u (model)")?.skipReason).toBe(first.results.find((r) => r.id === "u (model)")?.skipReason);
  });

  it("runs a file again when its bytes change", async () => {
    await run({ update: true });
    writeFileSync(file("tests/scenarios/a.scn"), scn("a") + "# a comment\n");
    started = 0;
    const r = await run();
    expect(started).toBe(1);
    expect(r.results.filter((x) => !x.cached).map((x) => x.id)).toEqual(["a (model)"]);
    expect(r.results.every((x) => x.status !== "fail")).toBe(true);
  });

  it("runs a file again when its golden changes, and keeps no failed run", async () => {
    await run({ update: true });
    writeFileSync(file("golden/a.out"), readFileSync(file("golden/a.out"), "utf8").replace("null-co", "null-aio"));
    for (let i = 0; i < 2; i++) {
      started = 0;
      const r = await run();
      expect(started).toBe(1);
      expect(r.results.find((x) => x.id === "a (model)")).toMatchObject({ status: "fail", golden: { status: "mismatch" } });
      expect(r.results.find((x) => x.id === "a (model)")?.cached).toBeUndefined();
    }
  });

  it("runs a file again when an engine-specific golden appears or goes", async () => {
    await run({ update: true });
    const common = readFileSync(file("golden/a.out"), "utf8");
    writeFileSync(file("golden/a.model.out"), `# reason: a test\n${common}`);
    started = 0;
    const withSpecific = await run();
    expect(started).toBe(1);
    expect(withSpecific.results.find((x) => x.id === "a (model)")).toMatchObject({ status: "pass", golden: { file: "golden/a.model.out", engineReason: "a test" } });
    started = 0;
    const cached = await run();
    expect(started).toBe(0);
    expect(cached.results.find((x) => x.id === "a (model)")).toMatchObject({ cached: true, golden: { file: "golden/a.model.out", engineReason: "a test" } });
    expect(cached.engineSpecific).toEqual([{ file: "golden/a.model.out", reason: "a test" }]);
    unlinkSync(file("golden/a.model.out"));
    started = 0;
    await run();
    expect(started).toBe(1);
  });

  it("runs everything again under other options or another build", async () => {
    await run({ update: true });
    for (const [over, ctx] of [[{ timeoutMs: 20_000 }, {}], [{ allowUnsafe: true }, {}], [{}, { buildId: "c".repeat(64) }], [{}, { goldenRoot: path.join(dir, "other") }]] as const) {
      started = 0;
      const r = await run(over, ctx);
      expect(cachedIds(r.results)).toEqual([]);
      // Run once more with the defaults: the cache now holds the other options' runs.
      await run({ update: true });
    }
  });

  it("is never read or written in CI, with --keep-scratch, --pictures, a trace, or both engines", async () => {
    await run({ update: true });
    const kept = readFileSync(cacheFile(), "utf8");
    for (const over of [{ ci: true }, { keepScratch: true }, { pictures: true }, { trace: () => undefined }] as Array<Partial<RunOptions>>) {
      started = 0;
      const r = await run(over);
      expect(started, JSON.stringify(Object.keys(over))).toBe(4);
      expect(cachedIds(r.results)).toEqual([]);
      for (const x of r.results) if (x.scratchDir) rmSync(x.scratchDir, { recursive: true, force: true });
    }
    expect(readFileSync(cacheFile(), "utf8")).toBe(kept);
  });

  it("removes the pending files of a golden a cached run matches, as a passing run does", async () => {
    await run({ update: true });
    writeFileSync(file("golden/a.out.bad"), "what another engine printed\n");
    writeFileSync(file("golden/a.out.bad.json"), "{}\n");
    writeFileSync(file("golden/sub/b.fmt=raw.out.new"), "x\n");
    started = 0;
    await run();
    expect(started).toBe(0);
    expect([existsSync(file("golden/a.out.bad")), existsSync(file("golden/a.out.bad.json")), existsSync(file("golden/sub/b.fmt=raw.out.new"))]).toEqual([false, false, false]);
  });

  it("deals --shard's runs out as a run without it does", async () => {
    await run({ update: true });
    writeFileSync(file("tests/scenarios/sub/b.scn"), scn("b", "each fmt in qcow2 raw\n") + "# changed\n");
    for (const index of [1, 2]) {
      const selection = { tags: [], excludeTags: [], shard: { index, count: 2 } };
      const uncached = await run({ selection, ci: true });
      const mixed = await run({ selection });
      expect(mixed.results.map((r) => r.id)).toEqual(uncached.results.map((r) => r.id));
    }
  });

  it("forgets files a run of every scenario no longer finds, and keeps those a selection left out", async () => {
    await run({ update: true });
    const files = () => Object.keys((JSON.parse(readFileSync(cacheFile(), "utf8")) as { files: object }).files);
    expect(files()).toEqual(["tests/scenarios/a.scn", "tests/scenarios/sub/b.scn", "tests/scenarios/u.scn"]);
    unlinkSync(file("tests/scenarios/u.scn"));
    writeFileSync(file("tests/scenarios/a.scn"), scn("a") + "# changed\n");
    await run({ paths: ["a.scn"] });
    expect(files()).toEqual(["tests/scenarios/a.scn", "tests/scenarios/sub/b.scn", "tests/scenarios/u.scn"]);
    await run();
    expect(files()).toEqual(["tests/scenarios/a.scn", "tests/scenarios/sub/b.scn"]);
  });

  it("reads a damaged file, or one another build or format wrote, as an empty cache", async () => {
    await run({ update: true });
    const good = readFileSync(cacheFile(), "utf8");
    for (const bad of ["{", "null", "[]", good.replace(BUILD, "d".repeat(64)), good.replace("blockcheck model results", "something else")]) {
      writeFileSync(cacheFile(), bad);
      started = 0;
      const r = await run();
      expect(started).toBe(4);
      expect(cachedIds(r.results)).toEqual([]);
    }
  });

  it("keeps no run whose file changed while it ran", async () => {
    const cache = ResultCache.read(cacheFile(), context());
    await runScenarios(
      modelRunOptions(dir, {
        update: true,
        resultCache: cache,
        makeEngine: (kind: EngineKind) => {
          // Probed before it ran; edited while it runs.
          writeFileSync(file("tests/scenarios/a.scn"), scn("a") + "# edited meanwhile\n");
          return createEngine(kind);
        },
      }),
    );
    await cache.write(cacheFile());
    const kept = JSON.parse(readFileSync(cacheFile(), "utf8")) as { files: Record<string, unknown> };
    expect(Object.keys(kept.files)).not.toContain("tests/scenarios/a.scn");
  });

  describe("stamps (a stat instead of a read)", () => {
    /** A clock an hour on: every file written so far counts as settled. */
    const later = { now: () => Date.now() + 3_600_000 };
    const kept = () => JSON.parse(readFileSync(cacheFile(), "utf8")) as { files: Record<string, { stamp?: unknown; runs: Array<{ golden?: { stamp?: unknown } }> }> };
    /** A whole second, so that a restored mtime is the same to the nanosecond. */
    const anHourAgo = Math.floor(Date.now() / 1000) - 3600;
    /** Write `text` to `rel` with the same mtime before and after, as cp -p or tar would leave it. */
    const rewriteKeepingMtime = async (rel: string, text: string) => {
      utimesSync(file(rel), anHourAgo, anHourAgo);
      await run({}, later);
      const before = statSync(file(rel));
      writeFileSync(file(rel), text);
      utimesSync(file(rel), anHourAgo, anHourAgo);
      const after = statSync(file(rel));
      expect([after.size, after.mtimeMs]).toEqual([before.size, before.mtimeMs]);
    };

    it("stamps no file written since the run began less than a few seconds ago", async () => {
      await run({ update: true });
      await run();
      const a = kept().files["tests/scenarios/a.scn"]!;
      expect(a.stamp).toBeUndefined();
      expect(a.runs[0]!.golden?.stamp).toBeUndefined();
    });

    it("stamps settled files, and a hit from stamps reports what a hit from the bytes does", async () => {
      const first = await run({ update: true }, later);
      const a = kept().files["tests/scenarios/a.scn"]!;
      expect(a.stamp).toHaveLength(4);
      expect(a.runs[0]!.golden?.stamp).toHaveLength(4);
      started = 0;
      const again = await run({}, later);
      expect(started).toBe(0);
      expect(again.results.map(comparable)).toEqual(first.results.map(comparable));
    });

    it("stamps a file a later run finds settled, when the run that kept it found it fresh", async () => {
      await run({ update: true });
      await run({}, later);
      expect(kept().files["tests/scenarios/a.scn"]!.stamp).toHaveLength(4);
      expect(kept().files["tests/scenarios/a.scn"]!.runs[0]!.golden?.stamp).toHaveLength(4);
    });

    it("runs a file again whose bytes change with its size and mtime kept", async () => {
      await run({ update: true }, later);
      const text = readFileSync(file("tests/scenarios/a.scn"), "utf8");
      await rewriteKeepingMtime("tests/scenarios/a.scn", text.replace("show nodes", "show graph"));
      started = 0;
      const r = await run({ update: true }, later);
      expect(started).toBe(1);
      expect(r.results.filter((x) => !x.cached).map((x) => x.id)).toEqual(["a (model)"]);
    });

    it("runs a file again whose golden changes with its size and mtime kept", async () => {
      await run({ update: true }, later);
      await rewriteKeepingMtime("golden/a.out", readFileSync(file("golden/a.out"), "utf8").replace("null-co", "null-xx"));
      started = 0;
      const r = await run({}, later);
      expect(started).toBe(1);
      expect(r.results.find((x) => x.id === "a (model)")).toMatchObject({ status: "fail", golden: { status: "mismatch" } });
    });

    it("reads the bytes of a file whose kept stamp is damaged", async () => {
      await run({ update: true }, later);
      const damaged = readFileSync(cacheFile(), "utf8").replace(/"stamp":\[[^\]]*\]/g, '"stamp":"x"');
      writeFileSync(cacheFile(), damaged);
      writeFileSync(file("tests/scenarios/a.scn"), scn("a") + "# changed\n");
      started = 0;
      const r = await run({}, later);
      expect(started).toBe(1);
      expect(cachedIds(r.results)).toEqual(["sub/b[fmt=qcow2] (model)", "sub/b[fmt=raw] (model)", "u (model)"]);
    });
  });
});
