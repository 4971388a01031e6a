/**
 * One generated scenario on one engine, through the runner's own path: the text is loaded by the
 * scenario language like any `.scn` file, then run by runOnEngine in an empty scratch directory,
 * emptied again afterwards (what a finding needs is kept as values, and the shrunk scenario
 * reproduces it).
 */
import type { Engine, EngineKind } from "../engines/engine.js";
import { BlockcheckError } from "../errors.js";
import { formatDiagnostics, loadScenario } from "../language/index.js";
import { instancesOf } from "../runner/load.js";
import type { Failure } from "../runner/results.js";
import { runOnEngine } from "../runner/run-on-engine.js";
import type { FuzzScratch } from "./fuzz-scratch.js";
import { observeEngine, type EngineObservation } from "./observe-engine.js";

/** A generated scenario the scenario checker rejects: a bug in the generator or the shrinker's input. */
export class FuzzScenarioInvalidError extends BlockcheckError {
  constructor(
    readonly text: string,
    readonly diagnostics: string,
  ) {
    super("E_FUZZ_INVALID", `a generated scenario does not load:\n${diagnostics}\n--- scenario ---\n${text}`);
  }
}

export interface CaseRun {
  engine: EngineKind;
  /** The transcript, when the runner produced one. */
  transcript?: string;
  failures: readonly Failure[];
  seen: EngineObservation;
  /** What escaped the runner: not a BlockcheckError, so a bug (in the model, usually). */
  thrown?: unknown;
  durationMs: number;
}

export interface RunCaseOptions {
  /** Whole-scenario timeout in milliseconds. */
  timeoutMs: number;
  /** File name the scenario is shown as in failures. */
  file?: string;
  /** Where the run's scratch directory is made. */
  scratch: FuzzScratch;
}

/** Run scenario `text` on a fresh engine from `makeEngine`. Throws FuzzScenarioInvalidError if it does not load. */
export async function runScenarioText(text: string, kind: EngineKind, makeEngine: (kind: EngineKind) => Engine, opts: RunCaseOptions): Promise<CaseRun> {
  const file = opts.file ?? "fuzz.scn";
  const loaded = loadScenario(text, file);
  if (loaded.diagnostics.length > 0) throw new FuzzScenarioInvalidError(text, formatDiagnostics(loaded.diagnostics, text));
  const [inst] = instancesOf(loaded.scenario, file, "fuzz");
  const { engine, seen } = observeEngine(makeEngine(kind));
  const t0 = performance.now();
  const scratch = opts.scratch.make();
  try {
    const run = await runOnEngine(inst!, engine, scratch, { timeoutMs: opts.timeoutMs });
    return { engine: kind, ...(run.transcript !== undefined ? { transcript: run.transcript } : {}), failures: run.failures, seen, durationMs: performance.now() - t0 };
  } catch (e) {
    // runOnEngine stops the engine whatever happens; what it rethrows is not a scenario failure.
    return { engine: kind, failures: [], seen, thrown: e, durationMs: performance.now() - t0 };
  } finally {
    opts.scratch.drop(scratch);
  }
}
