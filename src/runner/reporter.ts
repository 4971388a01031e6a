/**
 * What the runner tells whoever listens while it runs: every hook is optional and receives read-only
 * results. The runner owns this interface (as it owns the results); reporters in src/report
 * implement it and only render.
 */
import type { RunInfo, RunSummary, ScenarioResult } from "./results.js";

export interface Reporter {
  /** Before any scenario starts. */
  onRunStart?(info: RunInfo): void;
  /** A scenario run starts (with -j, several are running at once). */
  onScenarioStart?(id: string): void;
  /** A scenario run finished. */
  onScenarioEnd?(result: ScenarioResult): void;
  /** Everything is done; the summary is final. */
  onRunEnd?(summary: RunSummary): void;
}

/** Several reporters behind one, in order. */
export function combineReporters(reporters: readonly Reporter[]): Required<Reporter> {
  return {
    onRunStart: (i) => reporters.forEach((r) => r.onRunStart?.(i)),
    onScenarioStart: (id) => reporters.forEach((r) => r.onScenarioStart?.(id)),
    onScenarioEnd: (res) => reporters.forEach((r) => r.onScenarioEnd?.(res)),
    onRunEnd: (s) => reporters.forEach((r) => r.onRunEnd?.(s)),
  };
}
