/**
 * Runner bench: throughput of `blockcheck run` itself.
 *
 * 1. 1,000 generated scenarios on the model engine (-j = cores): a first pass that writes the goldens
 *    (--update) and a second that compares against them; scenarios/s for each and peak RSS.
 * 2. The same first 50 scenarios on both engines in one run (model and qemu-storage-daemon side by
 *    side, transcripts diffed): wall time and scenarios/s. Skipped when QEMU is not installed.
 *
 * Everything lives in a temporary project that is removed afterwards.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createEngine } from "../src/engines/factory/create.js";
import type { EngineName } from "../src/runner/results.js";
import { runScenarios, type RunOptions } from "../src/runner/run-all.js";
import { generatedScenario } from "./generated.js";
import { programRuns } from "./program-runs.js";

const COUNT = 1_000;
const BOTH = 50;

async function project(count: number): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "bc-bench-"));
  for (let i = 0; i < count; i++) {
    const sub = path.join(dir, "tests/scenarios", `g${Math.floor(i / 100)}`);
    await mkdir(sub, { recursive: true });
    await writeFile(path.join(sub, `s${i}.scn`), generatedScenario(i));
  }
  return dir;
}

function options(dir: string, engines: EngineName[], update: boolean): RunOptions {
  return {
    cwd: dir,
    scenarioRoot: path.join(dir, "tests/scenarios"),
    goldenRoot: path.join(dir, "golden"),
    paths: [],
    engines,
    jobs: os.availableParallelism(),
    timeoutMs: 60_000,
    bail: false,
    keepScratch: false,
    update,
    ci: false,
    prune: false,
    selection: { tags: [], excludeTags: [] },
    color: false,
    makeEngine: (kind) => createEngine(kind),
    reporters: [],
  };
}

async function timed(label: string, count: number, opts: RunOptions): Promise<void> {
  const t0 = performance.now();
  const summary = await runScenarios(opts);
  const s = (performance.now() - t0) / 1000;
  const failed = summary.results.filter((r) => r.status === "fail").length;
  const rss = process.resourceUsage().maxRSS / 1024;
  console.log(
    `| ${label.padEnd(34)} | ${String(summary.results.length).padStart(5)} | ${s.toFixed(2).padStart(7)} s | ${(count / s).toFixed(0).padStart(6)} /s | ${rss.toFixed(0).padStart(5)} MiB | ${failed} |`,
  );
}

function qemuInstalled(): boolean {
  return programRuns("QSD_PROG", "qemu-storage-daemon");
}

export async function run(): Promise<void> {
  console.log("| run                                | runs  |   wall    | scen/s    | peak RSS  | failed |");
  console.log("|------------------------------------|-------|-----------|-----------|-----------|--------|");
  const dir = await project(COUNT);
  try {
    await timed(`${COUNT} scenarios, model, --update`, COUNT, options(dir, ["model"], true));
    await timed(`${COUNT} scenarios, model, compare`, COUNT, options(dir, ["model"], false));
    if (!qemuInstalled()) {
      console.log(`| ${BOTH} scenarios, both engines: skipped (QEMU not installed) |`);
      return;
    }
    const both = { ...options(dir, ["model", "qemu"], false), paths: [], selection: { tags: [], excludeTags: [] } };
    const firstFifty = { ...both, paths: Array.from({ length: BOTH }, (_, i) => `tests/scenarios/g0/s${i}.scn`) };
    await timed(`${BOTH} scenarios, model + qemu`, BOTH, firstFifty);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
