/**
 * Time to find QEMU 7.2.22's three crash classes (reference §7.8) with `fuzz --engine both`: for
 * each seed of BLOCKCHECK_BENCH_FUZZ_SEEDS (default 1,2,3), fuzz for at most
 * BLOCKCHECK_BENCH_FUZZ_TIME (default 10m), stopping once an abort in bdrv_parent_drained_end
 * (`c->parent_quiesce_counter > 0`), a segfault in blockdev-reopen and one in blockdev-del are
 * found and shrunk. Prints when each distinct failure was found, when its shrink finished, and to
 * how many statements. Needs QEMU; takes minutes.
 *
 * The model now crashes where QEMU does for all three, so the fuzzer meets them as known crashes
 * (no finding, nothing to shrink): a class counts as found at its first case either way.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os, { tmpdir } from "node:os";
import path from "node:path";
import { parseDuration } from "../src/cli/commands/fuzz.js";
import { createEngine } from "../src/engines/factory/create.js";
import type { CrashSignature } from "../src/fuzz/crash-signature.js";
import { runFuzz, type FindingReport } from "../src/fuzz/fuzz-run.js";
import { formatDuration } from "../src/fuzz/progress.js";

/**
 * Which of the three §7.8 classes a finding is, if any: the abort by its assertion; the segfault
 * of a reopen list that frees a queued node by a transaction in its shrunk scenario; the one on
 * blockdev-del by its command.
 */
function classOf(f: FindingReport): string | undefined {
  if (!f.crash) return undefined;
  const scn = f.written ? readFileSync(f.written.scn, "utf8") : "";
  return crashClass(f.crash, /^reopen \{$/m.test(scn));
}

/** The class of a crash; `listed`: its scenario reopens a list (unknown for a known crash: assumed). */
function crashClass(c: CrashSignature, listed: boolean): string | undefined {
  if (c.detail?.includes("parent_quiesce_counter")) return "1 abort parent_quiesce_counter";
  if (c.signal === "SIGSEGV" && c.command === "blockdev-reopen" && listed) return "2 segfault in a reopen list";
  if (c.signal === "SIGSEGV" && c.command === "blockdev-del") return "3 segfault in del";
  return undefined;
}

export async function run(): Promise<void> {
  const seeds = (process.env.BLOCKCHECK_BENCH_FUZZ_SEEDS ?? "1,2,3").split(",").map(Number);
  const timeMs = parseDuration(process.env.BLOCKCHECK_BENCH_FUZZ_TIME ?? "10m");
  const jobs = 2 * os.availableParallelism();
  console.log(`| seed | failure | found after | shrunk after | statements | cases run |`);
  console.log(`|---|---|---|---|---|---|`);
  for (const seed of seeds) {
    const out = mkdtempSync(path.join(tmpdir(), "bc-bench-fuzzq-"));
    const stop = new AbortController();
    const done = new Set<string>();
    try {
      const summary = await runFuzz({
        engines: ["model", "qemu"],
        seed,
        timeMs,
        jobs,
        outDir: out,
        timeoutMs: 30_000,
        shrinkBudget: 300,
        makeEngine: (kind) => createEngine(kind, { qemu: { keepScratch: true } }),
        command: `blockcheck fuzz --engine both --seed ${seed}`,
        signal: stop.signal,
        onFinding: (f) => {
          const cls = classOf(f);
          if (cls && f.shrunk) done.add(cls);
          if (done.size === 3) stop.abort();
        },
        onKnownCrash: (k) => {
          const cls = crashClass(k.crash, true);
          if (cls && !done.has(cls)) console.log(`| ${seed} | ${cls} (known: the model predicts it): ${k.signature} | ${formatDuration(k.foundAtMs)} | - | - | |`);
          if (cls) done.add(cls);
          if (done.size === 3) stop.abort();
        },
      });
      for (const f of summary.findings) {
        const shrunk = f.shrunk ? formatDuration(f.shrunk.doneAtMs) : "-";
        const size = f.shrunk ? `${f.shrunk.from} → ${f.shrunk.to}` : f.notReproduced ? "not reproduced" : "-";
        console.log(`| ${seed} | ${classOf(f) ?? f.cls}: ${f.summary} | ${formatDuration(f.foundAtMs)} | ${shrunk} | ${size} | |`);
      }
      console.log(`| ${seed} | (all) | | ${formatDuration(summary.elapsedMs)} | | ${summary.cases} (${summary.stoppedBy}) |`);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }
}
