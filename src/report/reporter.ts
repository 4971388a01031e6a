/**
 * Where and how a reporter writes: a reporter writes only to the stream it is given, and clock,
 * colour and terminal width are injected so output can be pinned in tests. The hooks it implements
 * are the runner's (src/runner/reporter.ts).
 */

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
