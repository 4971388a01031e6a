/**
 * `expect job ID KEY=VALUE…`: members of the job's query-jobs entry (type, status, current-progress,
 * total-progress, error) and query-block-jobs entry (len, offset, busy, paused, speed, io-status,
 * ready, auto-finalize, auto-dismiss) have these values. `status=null` holds when the job is gone.
 * Every member that differs is reported, not just the first. Strings are compared as transcripts
 * show them (`$TEST_DIR/…`).
 */
import type { Identifier, OptionNode } from "../../language/ast.js";
import { JOB_PROPERTIES } from "../../language/job-commands.js";
import type { StepContext } from "../context.js";
import { StepError } from "../errors.js";
import { normalizeMessage } from "../graph-state.js";
import { jobView } from "../job-state.js";
import { plainValue } from "../plain-values.js";

/** Why the job does not have these properties, or undefined. */
export async function checkJob(ctx: StepContext, id: Identifier, properties: readonly OptionNode[]): Promise<string | undefined> {
  const view = await jobView(ctx, id.name);
  const problems: string[] = [];
  for (const p of properties) {
    const prop = JOB_PROPERTIES[p.key];
    if (!prop) throw new StepError(`unknown job property '${p.key}'`, p.keyLocation);
    const want = plainValue(p.value);
    if (p.key === "status" && (want === "null" || want === null)) {
      if (view.status !== "null") problems.push(`expected status=null, got status=${view.status}`);
      continue;
    }
    const entry = prop.from === "query-jobs" ? view.info : view.block;
    if (!entry) return `expected job '${id.name}' to have ${properties.map((o) => o.key).join(", ")}, but there is no such job`;
    // Strings as transcripts show them: a job's error names scratch files as $TEST_DIR/….
    const raw = entry[p.key];
    const got = typeof raw === "string" ? await normalizeMessage(ctx, raw) : raw;
    if (got !== want) problems.push(`expected ${p.key}=${show(want)}, got ${p.key}=${got === undefined ? "(absent)" : show(got)}`);
  }
  return problems.length ? `job '${id.name}': ${problems.join("; ")}` : undefined;
}

function show(v: unknown): string {
  if (typeof v === "boolean") return v ? "on" : "off";
  if (typeof v === "string") return /^[A-Za-z0-9_.\/:#@+-]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v);
}
