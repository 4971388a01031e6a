/** The JSON reporter: the whole results model as one JSON document at the end of the run. */
import { stripVTControlCharacters } from "node:util";
import type { Reporter } from "../runner/reporter.js";
import type { RunSummary } from "../runner/results.js";
import { runFailed } from "../runner/results.js";
import type { ReporterContext } from "./reporter.js";

/** Build a JSON reporter writing to `ctx.out`. */
export function jsonReporter(ctx: ReporterContext): Reporter {
  return {
    onRunEnd(summary) {
      ctx.out.write(renderJson(summary));
    },
  };
}

/** `{ ok, durationMs, results: [...], orphans, engineSpecific, notRun }`, diffs without colour. */
export function renderJson(summary: RunSummary): string {
  const results = summary.results.map((r) => ({
    ...r,
    failures: r.failures.map((f) => (f.diff ? { ...f, diff: stripVTControlCharacters(f.diff) } : f)),
  }));
  return JSON.stringify({ ok: !runFailed(summary), ...summary, results }, null, 2) + "\n";
}
