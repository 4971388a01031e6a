/**
 * Running sequences on an engine. `runStep` sends input steps (resolving `{"$node": path}` on the
 * live graph); `replayStep` re-sends a recorded step on another engine, translating the recorded
 * auto names through their paths. Both return what happened as a RecordedStep.
 */
import type { Engine, QmpEvent, QmpReply } from "../../src/engines/engine.js";
import { isAutoName } from "../../src/graph-view/auto-name.js";
import { BlockGraph, NodePathError } from "./block-graph.js";
import { replayIoStep, runIoStep } from "./run-io.js";
import { AWAITED_EVENT, recordEvent, type AwaitedEvent, type JobSettle, type Json, type RecordedQmpStep, type RecordedStep, type Step } from "./steps.js";

/**
 * Events QEMU's monitor throttles on the wall clock (one per second and key; a later one waits for
 * the second's end): when they arrive depends on how fast the steps run, so the differential leaves
 * them out. Their content and throttling are checked by scenarios (tests/scenarios/drivers/quorum-io.scn).
 */
const THROTTLED_EVENTS = new Set(["QUORUM_REPORT_BAD", "QUORUM_FAILURE"]);

/**
 * How long an awaited event (e.g. BLOCK_EXPORT_DELETED, a job's status change) may take: a bound on
 * a hang, not on speed; a loaded machine (the whole suite beside QEMU's own threads) needs seconds.
 */
const EVENT_TIMEOUT_MS = 30_000;

/** Replace every string in a JSON value. */
export function mapStrings(value: Json, f: (s: string) => string): Json {
  if (typeof value === "string") return f(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, f));
  if (value !== null && typeof value === "object") {
    const out: { [k: string]: Json } = {};
    for (const [k, v] of Object.entries(value)) out[k] = mapStrings(v, f);
    return out;
  }
  return value;
}

function toTestDir(value: Json, workdir: string): Json {
  return mapStrings(value, (s) => s.split(workdir).join("$TEST_DIR"));
}

function fromTestDir(value: Json, workdir: string): Json {
  return mapStrings(value, (s) => s.split("$TEST_DIR").join(workdir));
}

/** Replace `{"$node": path}` objects by node names; `refs` collects auto name → path. */
async function resolveNodeRefs(value: Json, lookup: () => Promise<BlockGraph>, refs: Record<string, string>): Promise<Json> {
  if (Array.isArray(value)) {
    const out: Json[] = [];
    for (const v of value) out.push(await resolveNodeRefs(v, lookup, refs));
    return out;
  }
  if (value !== null && typeof value === "object") {
    const path = value.$node;
    if (typeof path === "string" && Object.keys(value).length === 1) {
      const name = (await lookup()).resolve(path);
      if (isAutoName(name)) refs[name] = path;
      return name;
    }
    const out: { [k: string]: Json } = {};
    for (const [k, v] of Object.entries(value)) out[k] = await resolveNodeRefs(v, lookup, refs);
    return out;
  }
  return value;
}

/** A settle never needs more status changes than a job's whole life has. */
const SETTLE_MAX_EVENTS = 16;

/** Wait as JobSettle says; returns the events waited for, in order. */
async function settleJob(engine: Engine, settle: JobSettle): Promise<QmpEvent[]> {
  const out: QmpEvent[] = [];
  let ran = false;
  for (let i = 0; i < SETTLE_MAX_EVENTS; i++) {
    const ev = await engine.waitEvent("JOB_STATUS_CHANGE", { match: { id: settle.id }, timeoutMs: EVENT_TIMEOUT_MS });
    out.push(ev);
    const status = (ev.data as { status: string }).status;
    if (status === "running") ran = true;
    if (!settle.stops.includes(status)) continue;
    if (status === "ready" && ran) out.push(await engine.waitEvent("BLOCK_JOB_READY", { match: { device: settle.id }, timeoutMs: EVENT_TIMEOUT_MS }));
    if (status === "pending") out.push(await engine.waitEvent("BLOCK_JOB_PENDING", { match: { id: settle.id }, timeoutMs: EVENT_TIMEOUT_MS }));
    return out;
  }
  throw new Error(`job '${settle.id}' did not reach ${settle.stops.join("/")} within ${SETTLE_MAX_EVENTS} status changes`);
}

async function send(engine: Engine, workdir: string, execute: string, args: { [k: string]: Json } | undefined, refs: Record<string, string>, awaited?: AwaitedEvent, settle?: JobSettle): Promise<RecordedQmpStep> {
  const sent = args === undefined ? undefined : (fromTestDir(args, workdir) as { [k: string]: Json });
  const reply = await engine.qmp(execute, sent);
  const events = [];
  if ("return" in reply && AWAITED_EVENT[execute]) events.push(recordEvent(await engine.waitEvent(AWAITED_EVENT[execute]!, { timeoutMs: EVENT_TIMEOUT_MS })));
  if ("return" in reply && awaited) events.push(recordEvent(await engine.waitEvent(awaited.event, { match: awaited.match, timeoutMs: EVENT_TIMEOUT_MS })));
  if ("return" in reply && settle) events.push(...(await settleJob(engine, settle)).map(recordEvent));
  events.push(...engine.takeEvents().filter((e) => !THROTTLED_EVENTS.has(e.event)).map(recordEvent));
  const step: RecordedQmpStep = { kind: "qmp", execute, reply: toTestDir(reply as unknown as Json, workdir) as unknown as QmpReply, events: toTestDir(events as unknown as Json, workdir) as unknown as RecordedQmpStep["events"] };
  if (args !== undefined) step.arguments = args;
  if (Object.keys(refs).length > 0) step.refs = refs;
  if (awaited) step.await = awaited;
  if (settle) step.settle = settle;
  return step;
}

/** Run one input step; node paths are resolved against the engine's current graph. */
export async function runStep(engine: Engine, workdir: string, step: Step): Promise<RecordedStep> {
  if (step.kind === "image") {
    await engine.createImage(step.spec);
    return step;
  }
  if (step.kind === "io") return runIoStep(engine, workdir, step);
  const refs: Record<string, string> = {};
  let graph: BlockGraph | undefined;
  const lookup = async () => (graph ??= await BlockGraph.query(engine));
  const args = step.arguments === undefined ? undefined : ((await resolveNodeRefs(step.arguments, lookup, refs)) as { [k: string]: Json });
  return send(engine, workdir, step.execute, args, refs, step.await, step.settle);
}

/** Re-run a recorded step on `engine`, mapping the recorded auto names to this engine's nodes. */
export async function replayStep(engine: Engine, workdir: string, step: RecordedStep): Promise<RecordedStep> {
  if (step.kind === "image") return runStep(engine, workdir, step);
  if (step.kind === "io") return replayIoStep(engine, workdir, step);
  let args = step.arguments;
  const refs: Record<string, string> = {};
  if (step.refs && args !== undefined) {
    const graph = await BlockGraph.query(engine);
    const names = new Map<string, string>();
    for (const [recorded, path] of Object.entries(step.refs)) {
      const mine = graph.resolve(path);
      if (!isAutoName(mine)) throw new NodePathError(`path '${path}' leads to named node '${mine}', not an auto-named one`);
      names.set(recorded, mine);
      refs[mine] = path;
    }
    args = mapStrings(args, (s) => names.get(s) ?? s) as { [k: string]: Json };
  }
  return send(engine, workdir, step.execute, args, refs, step.await, step.settle);
}

/** Run input steps in order; stops at the first thrown (transport) error, which propagates. */
export async function runSteps(engine: Engine, workdir: string, steps: readonly Step[]): Promise<RecordedStep[]> {
  const out: RecordedStep[] = [];
  for (const s of steps) out.push(await runStep(engine, workdir, s));
  return out;
}

/**
 * Replay recorded steps in order into `out` (so a caller keeps what ran before a throw, e.g. a node
 * path that no longer resolves because the engines already disagreed), and return it.
 */
export async function replaySteps(engine: Engine, workdir: string, steps: readonly RecordedStep[], out: RecordedStep[] = []): Promise<RecordedStep[]> {
  for (const s of steps) out.push(await replayStep(engine, workdir, s));
  return out;
}
