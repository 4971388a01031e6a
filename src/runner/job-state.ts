/**
 * A job as the engine reports it now: its query-jobs entry (JobInfo) and its query-block-jobs entry
 * (BlockJobInfo), either absent once the job is gone. A job no longer listed is in status `null`,
 * the status QEMU gives it as it goes (JOB_STATUS_CHANGE null).
 */
import type { StepContext } from "./context.js";
import { query } from "./graph-state.js";

export interface JobView {
  /** The job's query-jobs entry. */
  info?: Record<string, unknown>;
  /** Its query-block-jobs entry (every job a scenario starts is a block job). */
  block?: Record<string, unknown>;
  /** `info.status`, or "null" when the job is not listed. */
  status: string;
}

export async function jobView(ctx: StepContext, id: string): Promise<JobView> {
  const info = entries(await query(ctx, "query-jobs")).find((j) => j.id === id);
  const block = entries(await query(ctx, "query-block-jobs")).find((j) => j.device === id);
  return { ...(info ? { info } : {}), ...(block ? { block } : {}), status: typeof info?.status === "string" ? info.status : "null" };
}

/** Just the status: one query. */
export async function jobStatus(ctx: StepContext, id: string): Promise<string> {
  const info = entries(await query(ctx, "query-jobs")).find((j) => j.id === id);
  return typeof info?.status === "string" ? info.status : "null";
}

function entries(reply: unknown): Array<Record<string, unknown>> {
  return Array.isArray(reply) ? reply.filter((x): x is Record<string, unknown> => typeof x === "object" && x !== null) : [];
}
