/**
 * A commit job of an intermediate node running on the model's virtual clock. Between two commands
 * the main loop runs what is due without time passing (bottom halves, zero-delay sleeps), so a job
 * with nothing to wait for runs to its end there, chunk by chunk (512 KiB, no delay when nothing
 * is allocated); one with a speed and data to copy copies its first chunk, then sleeps for the
 * rate limit's delay, and only a wait (or a drain, which wakes it) moves it on. Drains and user
 * pauses stop it with QEMU's events; a cancel takes the filter out. The states QEMU reaches only
 * by timing are checked here against job.c's logic; the deterministic ones are in the recorded
 * fixtures (j-commit*.jsonl).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { msToNs } from "../../../src/engines/model/main-loop.js";
import { chain, type Rig, rig } from "./support.js";

const MiB = 1 << 20;

describe("a running commit job on the virtual clock", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
    await chain(r, 4 * MiB);
  });
  afterEach(() => r.close());

  const job = async () => ((await r.ok("query-block-jobs")) as Array<Record<string, unknown>>)[0];
  /** mid holds all 4 MiB, so every chunk is copied and a speed delays the next one. */
  const fillMid = () => r.engine.io("mid", "write -P 0x5a 0 4M");
  const slowCommit = { "job-id": "j0", device: "act", "top-node": "mid", "base-node": "base", speed: 1 };

  it("starts within the command; before the next one it copies its first chunk and sleeps for the rate limit", async () => {
    await fillMid();
    await r.ok("block-commit", slowCommit);
    expect(r.events()).toEqual([
      ["JOB_STATUS_CHANGE", "created"],
      ["JOB_STATUS_CHANGE", "running"],
    ]);
    expect(await job()).toMatchObject({ status: "running", busy: false, paused: false, len: 4 * MiB, offset: 512 * 1024, speed: 1 });
    expect(r.engine.loop.nowNs).toBe(0);
  });

  it("with nothing to copy and no delay, goes through its 8 chunks to its end before the next command, in no virtual time", async () => {
    await r.ok("block-commit", { "job-id": "j0", device: "act", "top-node": "mid", "base-node": "base" });
    expect(r.events()).toEqual([
      ["JOB_STATUS_CHANGE", "created"],
      ["JOB_STATUS_CHANGE", "running"],
      ["JOB_STATUS_CHANGE", "waiting"],
      ["JOB_STATUS_CHANGE", "pending"],
      ["BLOCK_JOB_COMPLETED", undefined],
      ["JOB_STATUS_CHANGE", "concluded"],
      ["JOB_STATUS_CHANGE", "null"],
    ]);
    expect(r.engine.loop.nowNs).toBe(0);
    expect(await r.ok("query-jobs")).toEqual([]);
  });

  it("pauses and resumes with every drain of one of its nodes, a chunk further each time", async () => {
    await fillMid();
    await r.ok("block-commit", slowCommit);
    r.events();
    expect(await job()).toMatchObject({ status: "running", offset: 512 * 1024 });
    const reopenAct = { options: [{ driver: "qcow2", "node-name": "act", file: "act-f", backing: "mid" }] };
    await r.ok("blockdev-reopen", reopenAct);
    expect(r.events()).toEqual([
      ["JOB_STATUS_CHANGE", "paused"],
      ["JOB_STATUS_CHANGE", "running"],
    ]);
    // The drain cut the rate limit's sleep short; resumed, the job copies its next chunk and sleeps again.
    expect(await job()).toMatchObject({ status: "running", offset: MiB });
    await r.ok("blockdev-reopen", reopenAct);
    expect(r.events()).toHaveLength(2);
    expect(await job()).toMatchObject({ offset: 1.5 * MiB });
  });

  it("a user pause holds it through drains; resume, then a cancel", async () => {
    await fillMid();
    await r.ok("block-commit", slowCommit);
    r.events();
    await r.ok("block-job-pause", { device: "j0" });
    expect(r.events()).toEqual([["JOB_STATUS_CHANGE", "paused"]]);
    expect(await job()).toMatchObject({ status: "paused", paused: true, busy: false, offset: 512 * 1024 });
    expect(await r.err("job-pause", { id: "j0" })).toBe("Job is already paused");
    await r.ok("blockdev-reopen", { options: [{ driver: "qcow2", "node-name": "mid", file: "mid-f", backing: "base" }] });
    expect(r.events()).toEqual([]);
    // Time passes, the job stays.
    await r.engine.waitEvent("BLOCK_JOB_COMPLETED", { timeoutMs: 1000 }).catch(() => undefined);
    expect(await job()).toMatchObject({ status: "paused", offset: 512 * 1024 });
    expect(await r.err("block-job-cancel", { device: "j0" })).toBe("The block job for device 'j0' is currently paused");
    await r.ok("block-job-resume", { device: "j0" });
    expect(r.events()).toEqual([["JOB_STATUS_CHANGE", "running"]]);
    expect(await r.err("block-job-resume", { device: "j0" })).toBe("Can't resume a job that was not paused");
    await r.ok("job-cancel", { id: "j0" });
    expect(r.events()).toEqual([
      ["JOB_STATUS_CHANGE", "aborting"],
      ["BLOCK_JOB_CANCELLED", undefined],
      ["JOB_STATUS_CHANGE", "concluded"],
      ["JOB_STATUS_CHANGE", "null"],
    ]);
    // The filter is gone and the links are free again.
    await r.ok("blockdev-reopen", { options: [{ driver: "qcow2", "node-name": "act", file: "act-f", backing: null }] });
  });

  it("a forced cancel of a paused job wakes it (running) before it aborts", async () => {
    await fillMid();
    await r.ok("block-commit", slowCommit);
    await r.ok("job-pause", { id: "j0" });
    r.events();
    await r.ok("block-job-cancel", { device: "j0", force: true });
    const split = r.engine.takeEventsAroundReply();
    // The woken coroutine ends inside the command, and job_exit, a bottom half of the main
    // context, runs before the reply goes out (as QEMU 7.2 sends them).
    expect(split.beforeReply.map((e) => e.data?.["status"] ?? e.event)).toEqual(["running", "aborting", "BLOCK_JOB_CANCELLED", "concluded", "null"]);
    expect(split.afterReply).toEqual([]);
  });

  it("stops in pending without auto-finalize; finalize writes base's name into act's header", async () => {
    await r.ok("block-commit", { "job-id": "j0", device: "act", "top-node": "mid", "auto-finalize": false });
    await r.engine.waitEvent("BLOCK_JOB_PENDING", { timeoutMs: 10 });
    expect(await job()).toMatchObject({ status: "pending", offset: 4 * MiB, "auto-finalize": false });
    await r.ok("job-finalize", { id: "j0" });
    const nodes = (await r.ok("query-named-block-nodes", { flat: true })) as Array<Record<string, any>>;
    const act = nodes.find((n) => n["node-name"] === "act")!;
    // base's filename as opened (relative here, as given to blockdev-add).
    expect(act["image"]["backing-filename"]).toBe("base.qcow2");
    expect(act["image"]["backing-filename-format"]).toBe("qcow2");
    expect(nodes.some((n) => n["drv"] === "commit_top")).toBe(false);
  });

  it("settles as an idle QEMU between commands (what blockcheck qmp does)", async () => {
    await r.ok("block-commit", { "job-id": "j0", device: "act", "top-node": "mid" });
    expect(r.engine.settle(1000)).toBe(true);
    expect(r.events().at(-1)).toEqual(["JOB_STATUS_CHANGE", "null"]);
  });
});

describe("a commit job with a speed", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
    await chain(r, MiB);
  });
  afterEach(() => r.close());

  it("copies nothing (nothing is allocated), so the rate limit never delays it", async () => {
    await r.ok("block-commit", { "job-id": "j0", device: "act", "top-node": "mid", speed: 1 });
    await r.engine.waitEvent("BLOCK_JOB_COMPLETED", { timeoutMs: 10 });
    expect(r.engine.loop.nowNs).toBe(msToNs(0));
  });

  it("block-job-set-speed checks the verb and the value", async () => {
    await r.engine.io("mid", "write -P 0x5a 0 1M");
    await r.ok("block-commit", { "job-id": "j0", device: "act", "top-node": "mid", "auto-finalize": false, speed: 1 });
    expect(await r.err("block-job-set-speed", { device: "j0", speed: -1 })).toBe("Parameter 'speed' expects a non-negative value");
    // A new speed wakes the sleeping job (block_job_set_speed_locked), which copies on.
    await r.ok("block-job-set-speed", { device: "j0", speed: 4096 });
    expect(((await r.ok("query-block-jobs")) as Array<Record<string, unknown>>)[0]).toMatchObject({ speed: 4096 });
    await r.engine.waitEvent("BLOCK_JOB_PENDING", { timeoutMs: 10_000 });
    expect(await r.err("block-job-set-speed", { device: "j0", speed: 1 })).toBe("Job 'j0' in state 'pending' cannot accept command verb 'set-speed'");
  });
});
