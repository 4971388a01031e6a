/**
 * How each statement of a scenario ended on an engine, read back from the runner's failures: a
 * scenario without expectations fails exactly where a command failed, with "expected success, got
 * error: DESC" at the statement's line (a graph block's node at its own line). Those are the
 * expectations a written finding needs to pass on that engine.
 */
import type { Failure } from "../runner/results.js";
import type { CheckedCase } from "./check-case.js";
import type { StatementLines } from "./render.js";
import type { StatementOutcome } from "./scenario-ir.js";

const GOT_ERROR = "expected success, got error: ";

/** The line a failure is located at, if any. */
export function failureLine(f: Failure): number | undefined {
  const m = /:(\d+)$/.exec(f.location ?? "");
  return m ? Number(m[1]) : undefined;
}

/** Index of the statement whose text holds `line`. */
export function statementAt(lines: readonly StatementLines[], line: number): number | undefined {
  let found: number | undefined;
  lines.forEach((l, i) => {
    if (l.start <= line) found = i;
  });
  return found;
}

/** Per statement: ok, its error, or for a graph block each node's error. */
export function outcomesFrom(failures: readonly Failure[], lines: readonly StatementLines[]): StatementOutcome[] {
  const out: StatementOutcome[] = lines.map((l) => (l.nodes ? { kind: "graph", errors: l.nodes.map(() => undefined) } : { kind: "ok" }));
  for (const f of failures) {
    const line = failureLine(f);
    if (f.kind !== "expectation" || !f.message.startsWith(GOT_ERROR) || line === undefined) continue;
    const i = statementAt(lines, line);
    if (i === undefined) continue;
    const desc = f.message.slice(GOT_ERROR.length);
    const o = out[i]!;
    if (o.kind === "graph") {
      const j = lines[i]!.nodes!.indexOf(line);
      if (j >= 0) o.errors[j] = desc;
    } else out[i] = { kind: "error", desc };
  }
  return out;
}

/** The statement an engine crashed in, from the runner's failure located at it. */
export function crashedStatement(c: CheckedCase): number | undefined {
  for (const run of Object.values(c.runs)) {
    const f = run?.failures.find((x) => x.message.startsWith("E_QEMU_CRASHED"));
    const line = f && failureLine(f);
    if (line !== undefined) return statementAt(c.rendered.lines, line);
  }
  return undefined;
}
