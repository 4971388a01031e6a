/**
 * The reporter interface: every hook is optional, and a reporter writes only to the stream it is
 * given. Clock, colour and terminal width are injected so output can be pinned in tests.
 */
import type { RunInfo, RunSummary, ScenarioResult } from "./results.js";

/** Where and how a reporter writes. */
export interface ReporterContext {
  /** The stream to write to. */
  out: { write(chunk: string): unknown };
  /** Whether `out` is a terminal (live progress is drawn only then). */
  isTTY: boolean;
  /** Whether to use ANSI colours. */
  color: boolean;
  /** Terminal width for the progress line. */
  columns: number;
  /** Milliseconds since some epoch; injected so ETA and timestamps are testable. */
  now(): number;
  /** Times of the previous run by result id (ms), for the "change since last run" column. */
  previousTimes: ReadonlyMap<string, number>;
}

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
