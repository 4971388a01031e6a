/**
 * `wait ID STATUS` and `wait event NAME key=value…`: the two ways a scenario lets time pass. Neither
 * sleeps: each ends when the engine reports what it waits for (at once on the model, whose clock
 * is virtual), or fails after the run's event timeout.
 *
 * `wait ID STATUS` ends when query-jobs says the job is in STATUS (`null`: no longer listed).
 * query-jobs is the truth, not the events: a job visits some statuses more than once (every drain,
 * e.g. by a reopen, takes a running job to paused and back, a ready one to standby and back), so an
 * old JOB_STATUS_CHANGE may name the status the job has since left. Between two queries the step
 * waits for the job's next JOB_STATUS_CHANGE to STATUS.
 *
 * It then prints the job's block-job events that belong to the way to STATUS, in the order the
 * job sends them: BLOCK_JOB_READY on the way to ready (and on), BLOCK_JOB_PENDING to pending,
 * BLOCK_JOB_COMPLETED or _CANCELLED to concluded. QEMU sends each in the same main-loop turn as
 * the status change it belongs to, so once query-jobs reports STATUS, they have all arrived; later
 * ones stay for a later wait. Events are never printed in the order they happen to arrive across
 * jobs: a wait prints one job's events only. JOB_STATUS_CHANGE events are not printed (the drains
 * above add pairs of them as timing has it) and the ones received so far are consumed;
 * BLOCK_JOB_ERROR is not printed either (QEMU sends one per failed request, as many as were in
 * flight). `wait event` can ask for any of them.
 *
 * `wait event NAME key=value…` takes the oldest event NAME whose data contains those members,
 * received or to come, and prints it (transcript/events.ts leaves out what timing decides).
 */
import type { Identifier, OptionNode, WaitStatement } from "../../language/ast.js";
import { mentionsAutoName } from "../../graph-view/auto-name.js";
import { QmpEventTimeoutError } from "../../qmp/errors.js";
import type { QmpEvent } from "../../qmp/wire.js";
import { formatEvent } from "../../transcript/events.js";
import { stableJson } from "../../transcript/normalize.js";
import { stepFailure, type StepContext } from "../context.js";
import { graphState, normalizePlain } from "../graph-state.js";
import { jobStatus } from "../job-state.js";
import { plainObject } from "../plain-values.js";
import type { StepResult } from "./step.js";

/** How far along its life a job is in each status: a job moves only forward through these. */
const STAGE: Readonly<Record<string, number>> = {
  undefined: 0,
  created: 0,
  running: 1,
  paused: 1,
  ready: 2,
  standby: 2,
  waiting: 3,
  pending: 4,
  aborting: 4,
  concluded: 5,
  null: 6,
};

/** The stage each printed block-job event belongs to. */
const EVENT_STAGE: Readonly<Record<string, number>> = {
  BLOCK_JOB_READY: 2,
  BLOCK_JOB_PENDING: 4,
  BLOCK_JOB_COMPLETED: 5,
  BLOCK_JOB_CANCELLED: 5,
};

export async function waitStep(ctx: StepContext, stmt: WaitStatement): Promise<StepResult> {
  const t = stmt.target;
  return t.kind === "job" ? waitJob(ctx, stmt, t.id, t.status) : waitEvent(ctx, stmt, t.name, t.match);
}

async function waitJob(ctx: StepContext, stmt: WaitStatement, id: Identifier, status: Identifier): Promise<StepResult> {
  const problem = await reach(ctx, id.name, status.name);
  if (problem) return failed(ctx, stmt, problem);
  const stage = STAGE[status.name] ?? 0;
  const mine = (e: QmpEvent) => e.data?.device === id.name || e.data?.id === id.name;
  const events = ctx.events
    .take((e) => mine(e) && (EVENT_STAGE[e.event] ?? Infinity) <= stage)
    .sort((a, b) => EVENT_STAGE[a.event]! - EVENT_STAGE[b.event]!);
  ctx.events.take((e) => e.event === "JOB_STATUS_CHANGE" && mine(e));
  const normalize = await normalizerFor(ctx, events);
  return { blocks: [{ step: stmt.text, output: ["ok", ...events.map((e) => `event: ${formatEvent(e, normalize)}`)] }], failures: [] };
}

/** Waits until the job is in `want`; says why not, or undefined once it is. */
async function reach(ctx: StepContext, id: string, want: string): Promise<string | undefined> {
  const started = Date.now();
  const late = (now: string) =>
    now === "null" ? `job '${id}' is gone; it was never seen '${want}'` : `job '${id}' is '${now}', not '${want}', after ${ctx.eventTimeoutMs / 1000} s`;
  for (;;) {
    const now = await jobStatus(ctx, id);
    if (now === want) return undefined;
    const left = ctx.eventTimeoutMs - (Date.now() - started);
    // A job that is gone does not come back.
    if (now === "null" || left <= 0) return late(now);
    try {
      await ctx.events.wait("JOB_STATUS_CHANGE", { id, status: want }, left);
    } catch (e) {
      if (!(e instanceof QmpEventTimeoutError)) throw e;
      const after = await jobStatus(ctx, id);
      return after === want ? undefined : late(after);
    }
  }
}

async function waitEvent(ctx: StepContext, stmt: WaitStatement, name: Identifier, match: readonly OptionNode[]): Promise<StepResult> {
  const wanted = plainObject(match);
  let event: QmpEvent;
  try {
    event = await ctx.events.wait(name.name, match.length > 0 ? wanted : undefined, ctx.eventTimeoutMs);
  } catch (e) {
    if (!(e instanceof QmpEventTimeoutError)) throw e;
    const what = match.length > 0 ? ` matching ${stableJson(wanted)}` : "";
    return failed(ctx, stmt, `no event ${name.name}${what} within ${ctx.eventTimeoutMs / 1000} s`);
  }
  const normalize = await normalizerFor(ctx, [event]);
  return { blocks: [{ step: stmt.text, output: [`event: ${formatEvent(event, normalize)}`] }], failures: [] };
}

function failed(ctx: StepContext, stmt: WaitStatement, problem: string): StepResult {
  return { blocks: [{ step: stmt.text, output: [`failed: ${problem}`] }], failures: [stepFailure(ctx, stmt, "expectation", problem)] };
}

/** $TEST_DIR and implicit node names in the events' strings; the graph is queried only when one names a `#block…` node. */
async function normalizerFor(ctx: StepContext, events: readonly QmpEvent[]): Promise<(text: string) => string> {
  if (events.some((e) => mentionsAutoName(JSON.stringify(e.data ?? {})))) return (await graphState(ctx)).normalize;
  return (text) => normalizePlain(ctx, text);
}
