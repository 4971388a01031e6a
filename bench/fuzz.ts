/**
 * Fuzz bench on the model alone: BLOCKCHECK_BENCH_FUZZ_CASES generated scenarios (default 100,000,
 * seed BLOCKCHECK_BENCH_FUZZ_SEED or 1), each generated (steered by the model) and run through the
 * runner on a fresh model engine in-process, as `blockcheck fuzz --engine model` does. Prints the
 * cases per second, what was found (a model exception or hang would be a finding) and peak RSS.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createEngine } from "../src/engines/factory/create.js";
import { runFuzz } from "../src/fuzz/fuzz-run.js";
import { renderSummary } from "../src/fuzz/summary.js";

export async function run(): Promise<void> {
  const count = Number(process.env.BLOCKCHECK_BENCH_FUZZ_CASES ?? 100_000);
  const seed = Number(process.env.BLOCKCHECK_BENCH_FUZZ_SEED ?? 1);
  const out = mkdtempSync(path.join(tmpdir(), "bc-bench-fuzz-"));
  try {
    let last = 0;
    const t0 = performance.now();
    const summary = await runFuzz({
      engines: ["model"],
      seed,
      count,
      jobs: 1,
      outDir: out,
      timeoutMs: 30_000,
      shrinkBudget: 300,
      makeEngine: (kind) => createEngine(kind),
      command: `blockcheck fuzz --engine model --seed ${seed} --count ${count}`,
      onProgress: (p) => {
        if (p.cases - last < 10_000) return;
        last = p.cases;
        console.log(`  ${p.cases} cases, ${((p.cases * 1000) / (performance.now() - t0)).toFixed(1)}/s`);
      },
    });
    console.log(renderSummary(summary, process.cwd()).trimEnd());
    console.log(`| cases | seconds | cases/s | findings | peak RSS MiB |`);
    console.log(`|---|---|---|---|---|`);
    console.log(
      `| ${summary.cases} | ${(summary.elapsedMs / 1000).toFixed(1)} | ${((summary.cases * 1000) / summary.elapsedMs).toFixed(1)} | ${summary.findings.length} | ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} |`,
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
