/**
 * qemu-io bench: one scenario writing 1,000 extents (4 KiB each, a pattern of their own, one per
 * 68 KiB so no two share a qcow2 cluster) into a qcow2 image and reading every one back, then `map`.
 * Run through `blockcheck run` on the model engine (writing the golden, then comparing), and, when
 * QEMU is installed, on qemu-system and on both engines side by side.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createEngine } from "../src/engines/factory/create.js";
import type { EngineName } from "../src/runner/results.js";
import { runScenarios, type RunOptions } from "../src/runner/run-all.js";
import { programRuns } from "./program-runs.js";

const EXTENTS = 1_000;
const STRIDE = 68 * 1024;

function scenario(): string {
  const lines = ['scenario "1,000 extents written and read back"', "require io", "image disk.qcow2 qcow2 128M", "add disk: qcow2 file=(file filename=disk.qcow2)"];
  for (let i = 0; i < EXTENTS; i++) lines.push(`io disk "write -P ${(i % 255) + 1} ${i * STRIDE} 4k"`);
  for (let i = 0; i < EXTENTS; i++) lines.push(`io disk "read -P ${(i % 255) + 1} ${i * STRIDE} 4k"`);
  lines.push('io disk "map"', "");
  return lines.join("\n");
}

function options(dir: string, engines: EngineName[], update: boolean): RunOptions {
  return {
    cwd: dir,
    scenarioRoot: path.join(dir, "tests/scenarios"),
    goldenRoot: path.join(dir, "golden"),
    paths: [],
    engines,
    jobs: 1,
    timeoutMs: 600_000,
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

async function timed(label: string, opts: RunOptions): Promise<void> {
  const t0 = performance.now();
  const summary = await runScenarios(opts);
  const s = (performance.now() - t0) / 1000;
  const failed = summary.results.filter((r) => r.status === "fail").length;
  const ioSteps = 2 * EXTENTS + 1;
  const rss = process.resourceUsage().maxRSS / 1024;
  console.log(
    `| ${label.padEnd(30)} | ${String(summary.results.length).padStart(4)} | ${s.toFixed(2).padStart(7)} s | ${((ioSteps * summary.results.length) / s).toFixed(0).padStart(6)} /s | ${rss.toFixed(0).padStart(5)} MiB | ${failed} |`,
  );
}

function qemuInstalled(): boolean {
  return programRuns("QEMU_PROG", "qemu-system-x86_64");
}

export async function run(): Promise<void> {
  console.log("| run                            | runs |   wall    | io steps  | peak RSS  | failed |");
  console.log("|--------------------------------|------|-----------|-----------|-----------|--------|");
  const dir = await mkdtemp(path.join(os.tmpdir(), "bc-bench-io-"));
  try {
    await mkdir(path.join(dir, "tests/scenarios"), { recursive: true });
    await writeFile(path.join(dir, "tests/scenarios/extents.scn"), scenario());
    await timed("model, --update", options(dir, ["model"], true));
    await timed("model, compare", options(dir, ["model"], false));
    if (!qemuInstalled()) {
      console.log("| qemu: skipped (QEMU not installed) |");
      return;
    }
    await timed("qemu, compare", options(dir, ["qemu"], false));
    await timed("model + qemu, compare", options(dir, ["model", "qemu"], false));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
