/**
 * One scenario (generated, or a shrinking candidate) on every chosen engine at once, and its verdict.
 */
import type { Engine, EngineKind } from "../engines/engine.js";
import { classify, type Verdict } from "./classify.js";
import type { FuzzScratch } from "./fuzz-scratch.js";
import { renderScenario, type RenderedScenario } from "./render.js";
import { runScenarioText, type CaseRun } from "./run-case.js";
import type { FuzzScenario } from "./scenario-ir.js";

export interface CheckOptions {
  engines: readonly EngineKind[];
  makeEngine: (kind: EngineKind) => Engine;
  /** Per-scenario timeout in milliseconds. */
  timeoutMs: number;
  /** Where the kernel saw process `pid` segfault, if known. */
  siteOf: (pid: number) => string | undefined;
  scratch: FuzzScratch;
}

export interface CheckedCase {
  rendered: RenderedScenario;
  runs: Partial<Record<EngineKind, CaseRun>>;
  verdict: Verdict;
}

/** The text every run of a case uses: the same title on every engine, so transcripts compare. */
export function caseText(scenario: FuzzScenario): RenderedScenario {
  return renderScenario(scenario, { title: "fuzz", tags: ["fuzz"] });
}

export function checkScenario(scenario: FuzzScenario, opts: CheckOptions): Promise<CheckedCase> {
  return checkRendered(caseText(scenario), opts);
}

/** Run already rendered text (a written finding, expectations and all) on every chosen engine. */
export async function checkRendered(rendered: RenderedScenario, opts: CheckOptions): Promise<CheckedCase> {
  const runs: Partial<Record<EngineKind, CaseRun>> = {};
  await Promise.all(
    opts.engines.map(async (kind) => {
      runs[kind] = await runScenarioText(rendered.text, kind, opts.makeEngine, { timeoutMs: opts.timeoutMs, scratch: opts.scratch });
    }),
  );
  return { rendered, runs, verdict: classify(runs, opts.siteOf) };
}
