/**
 * Job steps on a scripted engine: what `job` sends, how `wait` decides a job is where it waits for
 * and which events it prints, and how `expect job` and `expect frozen` read the engine's answers.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { EngineInfo, QmpEvent, QmpReply, WaitEventOptions } from "../../src/engines/engine.js";
import { eventMatches } from "../../src/qmp/event-match.js";
import { QmpEventTimeoutError } from "../../src/qmp/errors.js";
import { runOnEngine } from "../../src/runner/run-on-engine.js";
import { createScratch, removeScratch, type Scratch } from "../../src/runner/scratch.js";
import { FakeEngine } from "./support/fake-engine.js";
import { scenario } from "./support/scenario.js";

/** What a job does next when someone waits: its new status and the events it sends on the way. */
interface Move {
  status: string;
  events?: QmpEvent[];
}

/**
 * A FakeEngine with block jobs: job commands succeed, query-jobs reports each job's status, and a
 * job moves on (one Move) only when the runner waits for an event, as time passes only then.
 */
class JobEngine extends FakeEngine {
  readonly status = new Map<string, string>();
  readonly moves: Array<{ id: string } & Move> = [];
  readonly queue: QmpEvent[] = [];

  override describe(): EngineInfo {
    return { ...super.describe(), features: new Set(["jobs"]) };
  }

  override takeEvents(): QmpEvent[] {
    return [...super.takeEvents(), ...this.queue.splice(0)];
  }

  override async waitEvent(name: string, opts: WaitEventOptions): Promise<QmpEvent> {
    for (;;) {
      this.queue.push(...super.takeEvents());
      const i = this.queue.findIndex((e) => eventMatches(e, name, opts.match));
      if (i >= 0) return this.queue.splice(i, 1)[0]!;
      const move = this.moves.shift();
      if (!move) throw new QmpEventTimeoutError(name, opts.timeoutMs);
      this.status.set(move.id, move.status);
      this.queue.push(...(move.events ?? []), change(move.id, move.status));
    }
  }

  startJob(id: string): QmpReply {
    this.status.set(id, "running");
    this.queue.push(change(id, "created"), change(id, "running"));
    return { return: {} };
  }

  cmd_block_stream(a: Record<string, unknown>): QmpReply {
    return this.startJob(a["job-id"] as string);
  }

  cmd_blockdev_mirror(a: Record<string, unknown>): QmpReply {
    return this.startJob(a["job-id"] as string);
  }

  cmd_block_job_finalize(): QmpReply {
    return { return: {} };
  }

  cmd_block_job_cancel(): QmpReply {
    return { return: {} };
  }

  cmd_query_jobs(): QmpReply {
    const live = [...this.status].filter(([, s]) => s !== "null");
    return { return: live.map(([id, status]) => ({ id, status, type: "stream", "current-progress": 5, "total-progress": 5 })) };
  }

  cmd_query_block_jobs(): QmpReply {
    const live = [...this.status].filter(([, s]) => s !== "null");
    return { return: live.map(([device, status]) => ({ device, status, len: 5, offset: 5, paused: false, ready: false, "auto-finalize": false })) };
  }
}

function change(id: string, status: string): QmpEvent {
  return { event: "JOB_STATUS_CHANGE", data: { id, status } };
}

function done(id: string, event = "BLOCK_JOB_COMPLETED"): QmpEvent {
  return { event, data: { device: id, len: 5, offset: 5, speed: 0, type: "stream" } };
}

const scratches: Scratch[] = [];
afterEach(async () => {
  await Promise.all(scratches.splice(0).map(removeScratch));
});

const HEAD = ['scenario "t"', "require jobs", "add base: qcow2 file=(file filename=b.qcow2)", "add top: qcow2 file=(file filename=t.qcow2) backing=base"];

async function run(engine: FakeEngine, ...lines: string[]) {
  const scratch = await createScratch();
  scratches.push(scratch);
  const result = await runOnEngine(scenario([...HEAD, ...lines, ""].join("\n"))[0]!, engine, scratch, { timeoutMs: 5_000 });
  const sent = engine.sent.filter((s) => !s.command.startsWith("query") && !s.command.startsWith("x-debug") && s.command !== "blockdev-add");
  const body = result.transcript!.split("\n");
  const from = body.findIndex((l) => !HEAD.includes(l) && l.startsWith(lines[0]!.slice(0, 8)));
  return { result, sent, shown: body.slice(from).filter((l) => l !== "") };
}

describe("job statements", () => {
  it("send the job command with its id, its node resolved, and its options typed", async () => {
    const engine = new JobEngine();
    engine.moves.push({ id: "s0", status: "pending" });
    const { sent, result } = await run(
      engine,
      "job stream s0 top base-node=top/backing speed=512 on-error=stop auto-finalize=off",
      "wait s0 pending",
      "job finalize s0",
      "job mirror m0 base target=top sync=full",
      "wait event BLOCK_JOB_READY device=m0",
    );
    expect(sent.slice(0, 2)).toEqual([
      { command: "block-stream", args: { "job-id": "s0", device: "top", "base-node": "base", speed: 512, "on-error": "stop", "auto-finalize": false } },
      { command: "block-job-finalize", args: { id: "s0" } },
    ]);
    expect(sent[2]).toEqual({ command: "blockdev-mirror", args: { "job-id": "m0", device: "base", target: "top", sync: "full" } });
    expect(result.failures.map((f) => f.message)).toEqual([`no event BLOCK_JOB_READY matching {"device":"m0"} within 10 s`]);
  });

  it("a verb sends block-job-VERB with the id in the member that command wants", async () => {
    const engine = new JobEngine();
    engine.moves.push({ id: "s0", status: "pending" });
    const { sent } = await run(engine, "job stream s0 top auto-finalize=off", "wait s0 pending", "job cancel s0 force=on");
    expect(sent.at(-1)).toEqual({ command: "block-job-cancel", args: { device: "s0", force: true } });
  });
});

describe("wait ID STATUS", () => {
  it("takes query-jobs as the truth: an old event for the status does not end the wait", async () => {
    const engine = new JobEngine();
    // The job passed 'pending' once already (a stale event), went back to running, and comes back.
    engine.queue.push(change("s0", "pending"));
    engine.moves.push({ id: "s0", status: "running" }, { id: "s0", status: "waiting" }, { id: "s0", status: "pending", events: [] });
    const { result } = await run(engine, "job stream s0 top auto-finalize=off", "wait s0 pending", "expect job s0 status=pending");
    expect(result.failures).toEqual([]);
    expect(engine.moves).toEqual([]);
  });

  it("prints the job's events up to the status, in the job's order; later ones wait for a later wait", async () => {
    const engine = new JobEngine();
    engine.moves.push(
      { id: "s0", status: "pending", events: [{ event: "BLOCK_JOB_PENDING", data: { id: "s0", type: "stream" } }] },
      { id: "s0", status: "concluded", events: [done("s0")] },
    );
    const { shown, result } = await run(engine, "job stream s0 top auto-finalize=off auto-dismiss=off", "wait s0 pending", "job finalize s0", "wait s0 concluded");
    expect(result.failures).toEqual([]);
    expect(shown).toEqual([
      "job stream s0 top auto-finalize=off auto-dismiss=off",
      "  ok",
      "wait s0 pending",
      "  ok",
      "  event: BLOCK_JOB_PENDING id=s0 type=stream",
      "job finalize s0",
      "  ok",
      "wait s0 concluded",
      "  ok",
      "  event: BLOCK_JOB_COMPLETED device=s0 len=5 offset=5 speed=0 type=stream",
    ]);
  });

  it("prints one job's events only, whatever order the jobs sent theirs in", async () => {
    const engine = new JobEngine();
    engine.moves.push({ id: "b", status: "null", events: [done("b", "BLOCK_JOB_CANCELLED")] }, { id: "a", status: "null", events: [done("a")] });
    const { shown } = await run(engine, "job stream a top", "job stream b base", "wait a null", "wait b null");
    expect(shown.slice(4)).toEqual([
      "wait a null",
      "  ok",
      "  event: BLOCK_JOB_COMPLETED device=a len=5 offset=5 speed=0 type=stream",
      "wait b null",
      "  ok",
      "  event: BLOCK_JOB_CANCELLED device=b speed=0 type=stream",
    ]);
  });

  it("fails, saying where the job is, when the status does not come; at once when the job is gone", async () => {
    const engine = new JobEngine();
    engine.moves.push({ id: "m0", status: "standby" });
    const { result } = await run(engine, "job mirror m0 base target=top sync=full", "wait m0 ready");
    expect(result.failures.map((f) => f.message)).toEqual(["job 'm0' is 'standby', not 'ready', after 10 s"]);

    const gone = new JobEngine();
    gone.moves.push({ id: "s0", status: "null" });
    const r2 = await run(gone, "job stream s0 top auto-finalize=off", "wait s0 pending");
    expect(r2.result.failures.map((f) => f.message)).toEqual(["job 's0' is gone; it was never seen 'pending'"]);
  });
});

describe("expect job", () => {
  it("compares members of query-jobs and query-block-jobs, reporting every difference", async () => {
    const engine = new JobEngine();
    engine.moves.push({ id: "s0", status: "pending" });
    const { result } = await run(engine, "job stream s0 top auto-finalize=off", "wait s0 pending", "expect job s0 status=pending len=5 auto-finalize=off", "expect job s0 type=mirror offset=4 ready=on error=x");
    expect(result.failures.map((f) => f.message)).toEqual([
      "job 's0': expected type=mirror, got type=stream; expected offset=4, got offset=5; expected ready=on, got ready=off; expected error=x, got error=(absent)",
    ]);
  });
});

describe("expect frozen", () => {
  /** A FakeEngine whose probe reopen gets `reply`. */
  function probed(reply: string): JobEngine {
    const engine = new JobEngine();
    engine.scripted.set("blockdev-reopen", [{ error: { class: "GenericError", desc: reply } }]);
    return engine;
  }

  it("holds when QEMU refuses to change the frozen link, and sends a reopen that cannot succeed", async () => {
    const engine = probed("Cannot change frozen 'backing' link from 'top' to 'base'");
    const { result, sent } = await run(engine, "expect frozen top -backing-> base");
    expect(result.failures).toEqual([]);
    const options = (sent.at(-1)!.args!.options as Array<Record<string, unknown>>)[0]!;
    expect(options).toMatchObject({ driver: "qcow2", "node-name": "top", backing: null, "force-share": false, "read-only": false });
    expect(options.file).toMatch(/^#block\d+$/);
  });

  it("fails when the link is not frozen, and says so when the probe could not tell", async () => {
    const { result } = await run(probed("Cannot change the option 'force-share'"), "expect frozen top -backing-> base");
    expect(result.failures.map((f) => f.message)).toEqual(["expected top -backing-> base to be frozen, but it is not"]);
    const r2 = await run(probed("Cannot replace implicit backing child of top"), "expect frozen top -backing-> base");
    expect(r2.result.failures.map((f) => f.message)).toEqual([
      "cannot tell whether top -backing-> base is frozen: the reopen that looks was refused first: Cannot replace implicit backing child of top",
    ]);
  });

  it("fails without a probe when the edge is not there", async () => {
    const engine = new JobEngine();
    const { result, sent } = await run(engine, "expect frozen base -backing-> top");
    expect(result.failures.map((f) => f.message)).toEqual(["expected frozen edge base -backing-> top, but 'base' has no backing child"]);
    expect(sent.filter((s) => s.command === "blockdev-reopen")).toEqual([]);
  });
});
