/**
 * A fuzz run: case i gets the seed sequenceSeed(seed, i), so a seed names one sequence of cases,
 * always the same. Up to `jobs` cases (or shrinking candidates) run at once; results are taken in
 * case order, so which case of several with the same failure is shrunk does not depend on timing.
 * Each distinct failure is shrunk once (later cases that fail the same way only count), then
 * written under the output directory.
 */
import type { Engine, EngineKind } from "../engines/engine.js";
import { checkScenario, type CheckedCase, type CheckOptions } from "./check-case.js";
import { repairScenario } from "./repair.js";
import { FINDING_CLASSES, sameFailure, type FindingClass, type Verdict } from "./classify.js";
import { describeCrash, sameCrash, type CrashSignature } from "./crash-signature.js";
import { FuzzScratch } from "./fuzz-scratch.js";
import { generateIn } from "./generator.js";
import { KernelCrashLog } from "./kernel-crash-log.js";
import { crashedStatement } from "./outcomes.js";
import { sequenceSeed } from "./prng.js";
import type { FuzzScenario } from "./scenario-ir.js";
import { shrinkScenario } from "./shrink.js";
import { writeFinding, type WrittenFinding } from "./write-finding.js";

export interface FuzzRunOptions {
  engines: readonly EngineKind[];
  seed: number;
  /** Stop after this many cases. */
  count?: number;
  /** Start no case after this many milliseconds. */
  timeMs?: number;
  /** Cases (and shrinking candidates) run at once. */
  jobs: number;
  /** Where findings are written; none: they are only reported. */
  outDir?: string;
  /** Per-scenario timeout in milliseconds. */
  timeoutMs: number;
  /** Candidates a shrink may test. */
  shrinkBudget: number;
  makeEngine: (kind: EngineKind) => Engine;
  /** How the run was started, for the comment of written findings (`blockcheck fuzz --seed 7`). */
  command: string;
  /** Read the kernel's segfault records to tell segfaults apart (default: when QEMU runs). */
  kernelLog?: boolean;
  now?: () => number;
  /** After each case is taken into account, and after each finding is done. */
  onProgress?: (p: FuzzProgress) => void;
  /** When a finding is done: shrunk and written, or found not to come back. */
  onFinding?: (f: FindingReport) => void;
  /** The first case of each QEMU crash the model predicts (a known crash, not a finding). */
  onKnownCrash?: (k: { signature: string; crash: CrashSignature; foundAtMs: number }) => void;
  signal?: AbortSignal;
}

export interface FuzzProgress {
  cases: number;
  elapsedMs: number;
  /** Occurrences per class (a failure found 50 times counts 50). */
  occurrences: Record<FindingClass, number>;
  /** Distinct failures. */
  distinct: number;
  /** QEMU crashes the model predicts. */
  known: number;
  /** Findings being shrunk now. */
  shrinking: number;
}

export interface FindingReport {
  cls: FindingClass;
  summary: string;
  crash?: CrashSignature;
  /** The first case that showed it, and that case's seed. */
  caseIndex: number;
  caseSeed: number;
  /** Cases that showed it. */
  count: number;
  /** When the first case showing it was taken into account, from the start of the run. */
  foundAtMs: number;
  /** Statements before and after shrinking, the candidates it tested, and when it was done. */
  shrunk?: { from: number; to: number; runs: number; doneAtMs: number; stoppedAtTimeLimit?: true };
  written?: WrittenFinding;
  /** Set when re-running the case did not fail the same way again. */
  notReproduced?: boolean;
  /** Set when it failed the same way in some re-runs only: how often. */
  flaky?: string;
}

export interface FuzzSummary {
  seed: number;
  engines: readonly EngineKind[];
  cases: number;
  elapsedMs: number;
  findings: FindingReport[];
  /** QEMU crashes the model predicts (same transcript on both), by signature. */
  known: Array<{ signature: string; count: number }>;
  /** Cases whose qemu engine failed once and passed when run again. */
  retried: number;
  stoppedBy: "count" | "time" | "signal";
}

interface Finding {
  report: FindingReport;
  verdict: Extract<Verdict, { kind: "finding" }>;
  scenario: FuzzScenario;
  checked: CheckedCase;
}

export async function runFuzz(opts: FuzzRunOptions): Promise<FuzzSummary> {
  const now = opts.now ?? (() => performance.now());
  const t0 = now();
  const scratch = await FuzzScratch.create();
  const kernel = (opts.kernelLog ?? opts.engines.includes("qemu")) ? KernelCrashLog.open() : undefined;
  const check: CheckOptions = {
    engines: opts.engines,
    makeEngine: opts.makeEngine,
    timeoutMs: opts.timeoutMs,
    siteOf: (pid) => kernel?.siteOf(pid),
    scratch,
  };
  const findings: Finding[] = [];
  const known = new Map<string, number>();
  const occurrences = Object.fromEntries(FINDING_CLASSES.map((c) => [c, 0])) as Record<FindingClass, number>;
  const done = new Map<number, { scenario: FuzzScenario; checked: CheckedCase }>();
  const shrinkQueue: Finding[] = [];
  let next = 0;
  let committed = 0;
  let shrinking = 0;
  let retried = 0;
  let stoppedBy: FuzzSummary["stoppedBy"] = "count";
  /** An error that is a bug of blockcheck (a generated scenario that does not load): it ends the run. */
  let fatal: { error: unknown } | undefined;

  const progress = () =>
    opts.onProgress?.({ cases: committed, elapsedMs: now() - t0, occurrences: { ...occurrences }, distinct: findings.length, known: [...known.values()].reduce((a, b) => a + b, 0), shrinking });

  // A finding found near the end is shrunk only until the time is up: --time bounds the whole run.
  const timeIsUp = () => opts.timeMs !== undefined && now() - t0 >= opts.timeMs;

  const canStart = (): boolean => {
    if (fatal) return false;
    if (opts.signal?.aborted) return ((stoppedBy = "signal"), false);
    if (opts.count !== undefined && next >= opts.count) return ((stoppedBy = "count"), false);
    if (timeIsUp()) return ((stoppedBy = "time"), false);
    return true;
  };

  const runCase = async (i: number): Promise<void> => {
    const scenario = await generateIn(scratch, sequenceSeed(opts.seed, i), () => opts.makeEngine("model"));
    let checked = await checkScenario(scenario, check);
    // A qemu engine that failed to start or run (a loaded machine) gets one more chance.
    if (checked.verdict.kind === "finding" && checked.verdict.cls === "engine-error") {
      const again = await checkScenario(scenario, check);
      if (!sameFailure(checked.verdict, again.verdict)) retried++;
      checked = again;
    }
    done.set(i, { scenario, checked });
    commit();
  };

  /** Take finished cases into account in case order. */
  const commit = () => {
    for (let r = done.get(committed); r !== undefined; r = done.get(committed)) {
      done.delete(committed);
      const v = r.checked.verdict;
      if (v.kind === "known-crash" || v.kind === "known-hang") {
        const sig = v.kind === "known-crash" ? describeCrash(v.crash) : `hang during '${v.command}'`;
        if (v.kind === "known-crash" && !known.has(sig)) opts.onKnownCrash?.({ signature: sig, crash: v.crash, foundAtMs: now() - t0 });
        known.set(sig, (known.get(sig) ?? 0) + 1);
      } else if (v.kind === "finding") {
        occurrences[v.cls]++;
        const same = findings.find((f) => sameFailure(f.verdict, v));
        if (same) same.report.count++;
        else {
          const f: Finding = {
            verdict: v,
            scenario: r.scenario,
            checked: r.checked,
            report: {
              cls: v.cls,
              summary: v.summary,
              ...(v.crash ? { crash: v.crash } : {}),
              caseIndex: committed,
              caseSeed: r.scenario.seed,
              count: 1,
              foundAtMs: now() - t0,
            },
          };
          findings.push(f);
          shrinkQueue.push(f);
        }
      }
      committed++;
      progress();
    }
  };

  const finish = async (f: Finding): Promise<void> => {
    shrinking++;
    progress();
    try {
      const once = async (candidate: FuzzScenario): Promise<boolean> => {
        const v = (await checkScenario(candidate, check)).verdict;
        if (sameFailure(f.verdict, v)) return true;
        // A use-after-free does not always crash where it did the first time: a candidate that
        // crashed at the same site in another command (at quit, say) gets one more run.
        const near = v.kind === "finding" && v.crash !== undefined && f.verdict.crash !== undefined && sameCrash(f.verdict.crash, v.crash);
        return near && sameFailure(f.verdict, (await checkScenario(candidate, check)).verdict);
      };
      // Confirm first, three times at once: a failure that does not come back is reported, not
      // shrunk. One that comes back only sometimes is flaky, and so is a segfault, even one that
      // came back every time: most are a use of freed memory, which crashes or not depending on
      // whether the memory was reused, and smaller scenarios reuse it less. For those each
      // shrinking candidate gets up to three tries.
      const hits = (await Promise.all([0, 1, 2].map(() => once(f.scenario)))).filter(Boolean).length;
      if (hits === 0) {
        f.report.notReproduced = true;
        return;
      }
      if (hits < 3) f.report.flaky = `failed the same way in ${hits} of 3 runs`;
      const tries = hits < 3 || f.verdict.crash?.signal === "SIGSEGV" ? 3 : 1;
      const test = async (candidate: FuzzScenario): Promise<boolean> => {
        for (let i = 0; i < tries; i++) if (await once(candidate)) return true;
        return false;
      };
      const failedAt = crashedStatement(f.checked);
      const shrunk = await shrinkScenario(f.scenario, {
        test,
        repair: repairScenario,
        budget: opts.shrinkBudget,
        parallel: opts.jobs,
        ...(failedAt !== undefined ? { failedAt } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
        stop: timeIsUp,
      });
      f.report.shrunk = {
        from: f.scenario.statements.length,
        to: shrunk.scenario.statements.length,
        runs: shrunk.runs,
        doneAtMs: now() - t0,
        ...(shrunk.stopped ? { stoppedAtTimeLimit: true as const } : {}),
      };
      if (opts.outDir !== undefined) {
        const name = `${f.verdict.cls}-${f.report.caseSeed.toString(16).padStart(8, "0")}`;
        f.report.written = await writeFinding(
          {
            verdict: f.verdict,
            scenario: shrunk.scenario,
            name,
            origin: [
              `Found by \`${opts.command}\` (case ${f.report.caseIndex}, case seed 0x${f.report.caseSeed.toString(16)}),`,
              `shrunk from ${f.report.shrunk.from} to ${f.report.shrunk.to} statements, testing ${shrunk.runs} candidates${shrunk.stopped ? " (stopped at the time limit)" : ""}.`,
            ],
          },
          opts.outDir,
          check,
          tries,
        );
      }
    } finally {
      shrinking--;
      progress();
    }
    opts.onFinding?.(f.report);
  };

  const worker = async (): Promise<void> => {
    try {
      for (;;) {
        const f = fatal ? undefined : shrinkQueue.shift();
        if (f) await finish(f);
        else if (canStart()) await runCase(next++);
        else return;
      }
    } catch (e) {
      fatal ??= { error: e };
    }
  };

  // Progress also while no case ends (a long shrink): a log shows the run alive and its clock.
  const ticker = setInterval(progress, 1000);
  ticker.unref();
  try {
    await Promise.all(Array.from({ length: Math.max(1, opts.jobs) }, worker));
  } finally {
    clearInterval(ticker);
    kernel?.close();
    await scratch.close();
  }
  if (fatal) throw fatal.error;
  return {
    seed: opts.seed,
    engines: opts.engines,
    cases: committed,
    elapsedMs: now() - t0,
    findings: findings.map((f) => f.report),
    known: [...known].map(([signature, count]) => ({ signature, count })),
    retried,
    stoppedBy,
  };
}
