/**
 * Model runs on worker threads (src/runner/model-workers/): the same results, goldens, pending files
 * and errors as a run on the runner's own thread, for a corpus large enough to use them.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { generatedScenario } from "../../bench/generated.js";
import { FILES_PER_WORKER } from "../../src/runner/model-workers/pool.js";
import type { RunInfo, RunSummary, ScenarioResult } from "../../src/runner/results.js";
import { runScenarios, type RunOptions } from "../../src/runner/run-all.js";
import { modelRunOptions } from "./support/run-options.js";

let dir: string;
const GENERATED = 2 * FILES_PER_WORKER + 6;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "bc-workers-"));
  const root = path.join(dir, "tests/scenarios");
  await mkdir(path.join(root, "gen"), { recursive: true });
  for (let i = 0; i < GENERATED; i++) await writeFile(path.join(root, "gen", `s${i}.scn`), generatedScenario(i));
  await writeFile(path.join(root, "each.scn"), 'scenario "one run per format"\neach fmt in qcow2 raw\n\nimage disk.$fmt $fmt 1M\nadd f0: file filename=disk.$fmt\nadd top: $fmt file=f0\nexpect rw top\n');
  await writeFile(path.join(root, "broken.scn"), 'scenario "does not load"\nadd x: null-co (\n');
  await writeFile(path.join(dir, "package.json"), '{ "name": "workers", "private": true }\n');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Seen {
  info?: RunInfo;
  started: string[];
  ended: ScenarioResult[];
}

function options(seen: Seen, over: Partial<RunOptions> = {}): RunOptions {
  const reporter = { onRunStart: (i: RunInfo) => (seen.info = i), onScenarioStart: (id: string) => seen.started.push(id), onScenarioEnd: (r: ScenarioResult) => seen.ended.push(r) };
  return modelRunOptions(dir, { reporters: [reporter], runId: "the run", modelWorkers: 2, ...over });
}

/** A summary without what differs from run to run: durations and kept scratch directories. */
function stable(summary: RunSummary) {
  return {
    ...summary,
    durationMs: 0,
    results: summary.results.map(({ durationMs: _, scratchDir, failures, ...r }) => ({
      ...r,
      kept: scratchDir !== undefined,
      failures: failures.map((f) => ({ ...f, ...(f.details ? { details: f.details.replace(/blockcheck-\w+/g, "blockcheck-X") } : {}) })),
    })),
  };
}

const goldens = async () => (await readdir(path.join(dir, "golden"), { recursive: true })).map(String).sort();

describe("model runs on worker threads", () => {
  it("write, compare and report exactly what a run on one thread does", async () => {
    const onThreads: Seen = { started: [], ended: [] };
    const created = await runScenarios(options(onThreads, { update: true }));
    expect(onThreads.info).toEqual({ total: GENERATED + 3, engines: ["model"], jobs: 2, threads: 2 });
    expect(created.results.filter((r) => r.golden?.status === "created")).toHaveLength(GENERATED + 2);
    const written = await goldens();
    expect(written).toContain("each.fmt=raw.out");

    // One golden changed: that run fails, its .out.bad is written, and the broken file fails to load.
    const golden = path.join(dir, "golden/gen/s7.out");
    await writeFile(golden, (await readFile(golden, "utf8")).replace("ok", "not ok"));
    const threaded: Seen = { started: [], ended: [] };
    const a = await runScenarios(options(threaded));
    const bad = await readFile(path.join(dir, "golden/gen/s7.out.bad"), "utf8");
    const single: Seen = { started: [], ended: [] };
    const b = await runScenarios(options(single, { modelWorkers: 0 }));
    expect(single.info?.threads).toBeUndefined();
    expect(threaded.info?.threads).toBe(2);

    expect(stable(a)).toEqual(stable(b));
    expect(a.results.filter((r) => r.status === "fail").map((r) => r.id)).toEqual(["broken (model)", "gen/s7 (model)"]);
    expect(await readFile(path.join(dir, "golden/gen/s7.out.bad"), "utf8")).toBe(bad);
    expect(await goldens()).toEqual([...written, "gen/s7.out.bad", "gen/s7.out.bad.json"].sort());
    // Every run was started and ended once, through the reporter.
    expect([...threaded.started].sort()).toEqual([...single.started].sort());
    expect(threaded.ended.map((r) => r.id).sort()).toEqual(a.results.map((r) => r.id));
    for (const r of a.results) if (r.scratchDir) await rm(r.scratchDir, { recursive: true, force: true });
    for (const r of b.results) if (r.scratchDir) await rm(r.scratchDir, { recursive: true, force: true });
  });

  it("selection, sharding and --bail work on what the workers loaded", async () => {
    await runScenarios(options({ started: [], ended: [] }, { update: true }));
    const sharded = (modelWorkers: number) => runScenarios(options({ started: [], ended: [] }, { modelWorkers, selection: { tags: ["chain"], excludeTags: [], shard: { index: 2, count: 3 } } }));
    const [a, b] = [await sharded(2), await sharded(0)];
    expect(a.results.length).toBeGreaterThan(5);
    expect(stable(a)).toEqual(stable(b));

    await rm(path.join(dir, "tests/scenarios/broken.scn"));
    await writeFile(path.join(dir, "golden/gen/s0.out"), "not this\n");
    const seen: Seen = { started: [], ended: [] };
    const bailed = await runScenarios(options(seen, { bail: true, ci: true }));
    expect(seen.info?.threads).toBe(2);
    expect(bailed.notRun).toBeGreaterThan(0);
    expect(bailed.results.length + bailed.notRun).toBe(GENERATED + 2);
    expect(bailed.results.find((r) => r.id === "gen/s0 (model)")?.status).toBe("fail");
  });

  it("an error that is no scenario's ends the run as it does on one thread", async () => {
    await writeFile(path.join(dir, "not-a-dir"), "");
    const failing = (modelWorkers: number) =>
      runScenarios(options({ started: [], ended: [] }, { modelWorkers, keepScratch: true, scratchParent: path.join(dir, "not-a-dir") })).then(
        () => undefined,
        (e: Error & { code?: string }) => ({ name: e.name, code: e.code, message: e.message }),
      );
    const threaded = await failing(2);
    expect(threaded).toEqual(await failing(0));
    expect(threaded?.code).toMatch(/^E_/);
  });
});
