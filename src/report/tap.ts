/**
 * TAP version 13: one test point per scenario run as it finishes, failures with a YAML diagnostic
 * block, skips as `# SKIP reason`, and the plan at the end (the total is only final after --bail).
 */
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

function yamlBlock(r: ScenarioResult): string {
  const lines = ["  ---", `  message: ${JSON.stringify(r.failures[0]?.message ?? "failed")}`, "  severity: fail"];
  lines.push(`  file: ${JSON.stringify(r.file)}`);
  lines.push("  failures:");
  for (const f of r.failures) lines.push(...failureYaml(f));
  if (r.scratchDir) lines.push(`  scratch: ${JSON.stringify(r.scratchDir)}`);
  lines.push("  ...");
  return lines.join("\n") + "\n";
}

function failureYaml(f: Failure): string[] {
  const out = [`    - kind: ${f.kind}`, `      message: ${JSON.stringify(f.message)}`];
  if (f.location) out.push(`      at: ${JSON.stringify(f.location)}`);
  if (f.phase) out.push(`      phase: ${JSON.stringify(f.phase)}`);
  if (f.source) out.push(`      source: ${JSON.stringify(f.source)}`);
  if (f.details) out.push("      details: |-", ...stripAnsi(f.details).replace(/\n$/, "").split("\n").map((l) => `        ${l}`));
  if (f.diff) out.push("      diff: |-", ...stripAnsi(f.diff).replace(/\n$/, "").split("\n").map((l) => `        ${l}`));
  return out;
}

/** Remove ANSI colour sequences. */
export function stripAnsi(s: string): string {
  return s.replace(/\x1b\[[0-9;]*m/g, "");
}
