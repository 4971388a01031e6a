/**
 * TAP version 13: one test point per scenario run as it finishes, failures with a YAML diagnostic
 * block, skips as `# SKIP reason`, and the plan at the end (the total is only final after --bail).
 */
import { stripVTControlCharacters } from "node:util";
import { stringify } from "yaml";
import type { Reporter } from "../runner/reporter.js";
import type { Failure, ScenarioResult } from "../runner/results.js";
import type { ReporterContext } from "./reporter.js";

/** Build a TAP 13 reporter writing to `ctx.out`. */
export function tapReporter(ctx: ReporterContext): Reporter {
  let n = 0;
  return {
    onRunStart() {
      ctx.out.write("TAP version 13\n");
    },
    onScenarioEnd(r) {
      n++;
      ctx.out.write(testPoint(n, r));
    },
    onRunEnd(summary) {
      if (summary.notRun > 0) ctx.out.write(`# ${summary.notRun} runs not started (--bail)\n`);
      ctx.out.write(`1..${n}\n`);
    },
  };
}

function testPoint(n: number, r: ScenarioResult): string {
  const desc = escapeDescription(r.id);
  if (r.status === "skip") return `ok ${n} - ${desc} # SKIP ${oneLine(r.skipReason ?? "skipped")}\n`;
  if (r.status === "pass") return `ok ${n} - ${desc}\n`;
  return `not ok ${n} - ${desc}\n${yamlBlock(r)}`;
}

/** `#` starts a directive and `\` escapes, so both are escaped in descriptions. */
function escapeDescription(s: string): string {
  return oneLine(s).replace(/\\/g, "\\\\").replace(/#/g, "\\#");
}

function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, " ");
}

/**
 * The YAML diagnostic block of a failed run, indented under its test point. The `yaml` package picks
 * the quoting: a multi-line diff becomes a literal block, a message with control characters or a
 * first line that starts with spaces is quoted or given an indentation indicator — cases where
 * hand-made YAML is easy to get subtly wrong.
 */
function yamlBlock(r: ScenarioResult): string {
  const doc = {
    message: r.failures[0]?.message ?? "failed",
    severity: "fail",
    file: r.file,
    failures: r.failures.map(failureYaml),
    ...(r.scratchDir ? { scratch: r.scratchDir } : {}),
  };
  // lineWidth 0: never fold long lines; diffs must come back exactly as they were.
  const yaml = stringify(doc, { lineWidth: 0, blockQuote: "literal" });
  return ["  ---", ...yaml.replace(/\n$/, "").split("\n").map((l) => `  ${l}`), "  ..."].join("\n") + "\n";
}

function failureYaml(f: Failure): Record<string, string> {
  return {
    kind: f.kind,
    message: f.message,
    ...(f.location ? { at: f.location } : {}),
    ...(f.phase ? { phase: f.phase } : {}),
    ...(f.source ? { source: f.source } : {}),
    ...(f.details ? { details: stripVTControlCharacters(f.details) } : {}),
    ...(f.diff ? { diff: stripVTControlCharacters(f.diff) } : {}),
  };
}
