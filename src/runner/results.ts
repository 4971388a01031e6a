/**
 * The results model: the runner produces it and owns it, reporters (src/report) render it. Reporters
 * only ever see these read-only values; they never run anything or touch files.
 */
import type { EngineKind } from "../engines/engine.js";

/** The engine a result comes from. */
export type EngineName = EngineKind;

/** Why a scenario run failed; a run may collect several. */
export interface Failure {
  kind: "expectation" | "golden" | "missing-golden" | "error" | "timeout" | "engines-differ";
  /** One line (may be followed by details). */
  message: string;
  /** `file:line` of the scenario statement, when one is to blame. */
  location?: string;
  /** The phase (`## …`) the statement is in. */
  phase?: string;
  /** The statement as written. */
  source?: string;
  /** A unified diff (golden vs actual, or model vs qemu). */
  diff?: string;
  /** Other multi-line detail, e.g. a scenario's formatted diagnostics. */
  details?: string;
  /**
   * Set when the run did not get to the end of its story for a reason outside the scenario: the
   * engine crashed, hung, could not start, or the run timed out. Its transcript is then not
   * compared with the golden, and no pending file is written.
   */
  infrastructure?: true;
  /**
   * Set when a bug in blockcheck stopped the run (a throw no engine or step is meant to make): the
   * other runs go on, and the command exits as for an internal error.
   */
  internal?: true;
}

export interface ScenarioResult {
  /** Unique and stable: `reopen/detach[fmt=qcow2] (model)`. */
  id: string;
  /** Scenario file, relative to the working directory. */
  file: string;
  /** Golden stem: scenario path under the scenario root, without `.scn`. */
  name: string;
  /** Parameter suffix (`fmt=qcow2`) or "". */
  suffix: string;
  engine: EngineName;
  title?: string;
  tags: readonly string[];
  status: "pass" | "fail" | "skip";
  durationMs: number;
  failures: readonly Failure[];
  skipReason?: string;
  /** Scratch directory kept for inspection (failed runs, or --keep-scratch). */
  scratchDir?: string;
  /**
   * Golden file used, and what happened to it: match, created, updated, mismatch, missing, invalid,
   * error, or not-compared (the run did not finish); `pending` is the `.out.bad`/`.out.new` written.
   */
  golden?: { file: string; status: string; engineReason?: string; pending?: string };
  /** Not run: a model run whose file, golden and options are as when it last passed (result-cache.ts). */
  cached?: true;
}

export interface RunInfo {
  /** Number of scenario runs (scenario × parameter value × engine) about to start. */
  total: number;
  engines: readonly EngineName[];
  jobs: number;
  /** Worker threads the model runs on (model-workers/); absent when it runs on the runner's own thread. */
  threads?: number;
}

export interface RunSummary {
  results: readonly ScenarioResult[];
  durationMs: number;
  /** Golden files no scenario reads (relative paths). */
  orphans: readonly string[];
  /** Whether `--prune` removed the orphans. */
  pruned: boolean;
  /** Engine-specific goldens used in this run, with their reasons. */
  engineSpecific: ReadonlyArray<{ file: string; reason: string }>;
  /** Runs not started because of --bail. */
  notRun: number;
}

/** Result id from its parts. */
export function resultId(name: string, suffix: string, engine: EngineName): string {
  return `${name}${suffix ? `[${suffix}]` : ""} (${engine})`;
}

/** Whether a summary counts as a failed run (exit 1). Orphan goldens are reported, not failures. */
export function runFailed(summary: RunSummary): boolean {
  return summary.results.some((r) => r.status === "fail");
}
