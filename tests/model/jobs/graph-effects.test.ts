/**
 * What a job does to the graph around it: op blockers (the newest one is the error), drains that
 * reach a job through its nodes' ancestors, and a reopen while a job holds the chain.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { chain, type Rig, rig } from "./support.js";

describe("op blockers", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
    await chain(r);
  });
  afterEach(() => r.close());

  it("a backing file is blocked by its overlay, a job's nodes by the job (newest first)", async () => {
    expect(await r.err("blockdev-del", { "node-name": "base" })).toBe("Node 'base' is busy: node is used as backing hd of 'mid'");
    await r.ok("block-stream", { "job-id": "s0", device: "act", "base-node": "base", "auto-finalize": false });
    // mid: the overlay's blocker is older than the job's.
    expect(await r.err("blockdev-del", { "node-name": "mid" })).toBe("Node 'mid' is busy: block device is in use by block job: stream");
    // A stream of act again: act itself is the job's "active node".
    expect(await r.err("block-stream", { "job-id": "s1", device: "act" })).toBe("Node 'act' is busy: block device is in use by block job: stream");
    await r.engine.waitEvent("BLOCK_JOB_PENDING", { timeoutMs: 10 });
    await r.ok("job-finalize", { id: "s0" });
    // Done: act's backing is base now, mid is free of blockers (nothing is above it).
    expect(await r.err("blockdev-del", { "node-name": "base" })).toBe("Node 'base' is busy: node is used as backing hd of 'act'");
    await r.ok("blockdev-del", { "node-name": "mid" });
  });
});

describe("drains", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
    await chain(r, 4 << 20);
  });
  afterEach(() => r.close());

  // mid's data at 1 byte/s holds the job in its copy, sleeping, from the reply on.
  const slowCommit = async () => {
    await r.engine.io("mid", "write -P 0x5a 0 4M");
    await r.ok("block-commit", { "job-id": "j0", device: "act", "top-node": "mid", "base-node": "base", speed: 1 });
  };

  it("reach a job through the ancestors of a drained node, once per drained section", async () => {
    await slowCommit();
    r.events();
    // base-f is below every node of the job; a reopen of it drains it, and so the job.
    await r.ok("blockdev-reopen", { options: [{ driver: "file", "node-name": "base-f", filename: "base.qcow2" }] });
    expect(r.events()).toEqual([
      ["JOB_STATUS_CHANGE", "paused"],
      ["JOB_STATUS_CHANGE", "running"],
    ]);
    const [job] = (await r.ok("query-block-jobs")) as Array<Record<string, unknown>>;
    expect(job).toMatchObject({ paused: false, status: "running" });
  });

  it("a failed reopen ends its sections too", async () => {
    await slowCommit();
    r.events();
    expect(await r.err("blockdev-reopen", { options: [{ driver: "qcow2", "node-name": "mid", file: "mid-f", backing: null }] })).toBe(
      "Cannot change frozen 'backing' link from 'mid' to 'base'",
    );
    expect(r.events()).toEqual([
      ["JOB_STATUS_CHANGE", "paused"],
      ["JOB_STATUS_CHANGE", "running"],
    ]);
    await r.ok("block-job-set-speed", { device: "j0", speed: 0 });
    await r.engine.waitEvent("JOB_STATUS_CHANGE", { match: { status: "null" }, timeoutMs: 10 });
  });
});

describe("where QEMU 7.2 aborts", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
    await chain(r);
  });
  afterEach(() => r.close());

  it("freeing a named commit filter whose frozen link remains (reference §7.2)", async () => {
    await r.ok("block-commit", { "job-id": "j0", device: "act", "top-node": "mid", "filter-node-name": "ct", "auto-finalize": false });
    await r.engine.waitEvent("BLOCK_JOB_PENDING", { timeoutMs: 10 });
    const error = await r.engine.qmp("blockdev-reopen", { options: [{ driver: "qcow2", "node-name": "act", file: "act-f", backing: "mid" }] }).catch((e: unknown) => e);
    expect(error).toMatchObject({ command: "blockdev-reopen", exit: { signal: "SIGABRT" } });
    expect(String((error as Error).message)).toContain("../../block.c:2838: bdrv_replace_child_noperm: Assertion `!child->frozen' failed.");
    expect(await r.engine.stop()).toMatchObject({ kind: "crashed", exit: { signal: "SIGABRT" } });
  });
});
