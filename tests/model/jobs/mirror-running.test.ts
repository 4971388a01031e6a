/**
 * Mirror and active commit on the virtual clock: READY after the first turns of the loop, which run
 * between the reply and the next command when nothing holds the job (the first look at a qcow2
 * image waits for a read, so it is after the reply, as usually on QEMU); a speed and data to copy
 * hold it in its first pass. Then a wake-up every 100 ms for ever; complete swaps the target in;
 * `replaces`; a soft cancel of a READY mirror completes it without the swap.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MainLoopBusyError, msToNs } from "../../../src/engines/model/main-loop.js";
import { type Rig, rig } from "./support.js";

const MiB = 1 << 20;

describe("a mirror job on the virtual clock", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
    for (const name of ["src", "tgt"]) {
      await r.engine.createImage({ path: `${name}.qcow2`, format: "qcow2", size: MiB });
      await r.ok("blockdev-add", { driver: "qcow2", "node-name": name, file: { driver: "file", filename: `${name}.qcow2`, "node-name": `${name}-f` } });
    }
  });
  afterEach(() => r.close());

  const graphEdges = async () => {
    const g = (await r.ok("x-debug-query-block-graph")) as { nodes: Array<{ id: number; name: string }>; edges: Array<{ parent: number; child: number; name: string }> };
    const name = new Map(g.nodes.map((n) => [n.id, n.name.startsWith("#block") ? "#" : n.name]));
    return g.edges.map((e) => `${name.get(e.parent)} -${e.name}-> ${name.get(e.child)}`);
  };

  /** A mirror of 1 MiB of data at 1 byte/s: after its first chunk it sleeps, in its first pass. */
  const slowMirror = async () => {
    await r.engine.io("src", "write -P 0x5a 0 1M");
    await r.ok("blockdev-mirror", { "job-id": "m0", device: "src", target: "tgt", sync: "full", speed: 1, granularity: 65536, "buf-size": 65536 });
  };

  it("is READY once the loop runs (after the reply, before the next command), with the whole disk copied (sync=full)", async () => {
    await r.ok("blockdev-mirror", { "job-id": "m0", device: "src", target: "tgt", sync: "full" });
    const split = r.engine.takeEventsAroundReply();
    expect(split.beforeReply.map((e) => e.data?.["status"])).toEqual(["created", "running"]);
    expect(split.afterReply.map((e) => e.data?.["status"] ?? e.event)).toEqual(["ready", "BLOCK_JOB_READY"]);
    const ready = split.afterReply[1]!;
    expect(ready.data).toEqual({ device: "m0", len: MiB, offset: MiB, speed: 0, type: "mirror" });
    expect(await graphEdges()).toEqual(
      expect.arrayContaining(["# -backing-> src", "m0 -main node-> #", "m0 -source-> src", "m0 -target-> tgt", " -root-> tgt"]),
    );
  });

  it("wakes every 100 ms while READY, so it never settles; a bounded settle stops", async () => {
    await r.ok("blockdev-mirror", { "job-id": "m0", device: "src", target: "tgt", sync: "none" });
    await r.engine.waitEvent("BLOCK_JOB_READY", { timeoutMs: 10 });
    r.events();
    expect(r.engine.settle(1000)).toBe(false);
    expect(r.engine.loop.nowNs).toBeLessThanOrEqual(msToNs(1000));
    expect(() => r.engine.loop.settle(50)).toThrow(MainLoopBusyError);
    expect(r.events()).toEqual([]);
  });

  it("pauses to standby and back; a drain does the same", async () => {
    await r.ok("blockdev-mirror", { "job-id": "m0", device: "src", target: "tgt", sync: "none" });
    await r.engine.waitEvent("BLOCK_JOB_READY", { timeoutMs: 10 });
    r.events();
    await r.ok("job-pause", { id: "m0" });
    expect(r.events()).toEqual([["JOB_STATUS_CHANGE", "standby"]]);
    expect(((await r.ok("query-block-jobs")) as Array<Record<string, unknown>>)[0]).toMatchObject({ status: "standby", ready: true, paused: true });
    await r.ok("job-resume", { id: "m0" });
    expect(r.events()).toEqual([["JOB_STATUS_CHANGE", "ready"]]);
    await r.ok("blockdev-reopen", { options: [{ driver: "qcow2", "node-name": "tgt", file: "tgt-f" }] });
    expect(r.events()).toEqual([
      ["JOB_STATUS_CHANGE", "standby"],
      ["JOB_STATUS_CHANGE", "ready"],
    ]);
  });

  it("complete swaps the target in for the source, after the reply", async () => {
    await r.ok("blockdev-mirror", { "job-id": "m0", device: "src", target: "tgt", sync: "none" });
    await r.engine.waitEvent("BLOCK_JOB_READY", { timeoutMs: 10 });
    r.events();
    await r.ok("block-job-complete", { device: "m0" });
    const split = r.engine.takeEventsAroundReply();
    expect(split.beforeReply).toEqual([]);
    expect(split.afterReply.map((e) => e.data?.["status"] ?? e.event)).toEqual(["waiting", "pending", "BLOCK_JOB_COMPLETED", "concluded", "null"]);
    // Nothing used src, so nothing moved: the filter and the job's nodes are gone.
    expect(await graphEdges()).toEqual(["tgt -file-> tgt-f", "src -file-> src-f"]);
  });

  it("cannot complete before READY", async () => {
    await slowMirror();
    expect(await r.err("job-complete", { id: "m0" })).toBe("Job 'm0' in state 'running' cannot accept command verb 'complete'");
  });

  it("a soft cancel of a READY mirror completes it, without the swap", async () => {
    await r.ok("blockdev-mirror", { "job-id": "m0", device: "src", target: "tgt", sync: "none" });
    await r.engine.waitEvent("BLOCK_JOB_READY", { timeoutMs: 10 });
    r.events();
    await r.ok("block-job-cancel", { device: "m0" });
    expect(r.events().map(([e, s]) => s ?? e)).toEqual(["waiting", "pending", "BLOCK_JOB_COMPLETED", "concluded", "null"]);
  });

  it("a forced cancel before READY is a cancel", async () => {
    await slowMirror();
    await r.ok("block-job-cancel", { device: "m0" });
    await r.engine.waitEvent("JOB_STATUS_CHANGE", { match: { status: "null" }, timeoutMs: 10 });
    expect(r.events().map(([e, s]) => s ?? e)).toEqual(["created", "running", "aborting", "BLOCK_JOB_CANCELLED", "concluded"]);
  });

  it("refuses what QEMU refuses, with its messages", async () => {
    expect(await r.err("blockdev-mirror", { "job-id": "m0", device: "src", target: "src", sync: "full" })).toBe("Can't mirror node into itself");
    expect(await r.err("blockdev-mirror", { "job-id": "m0", device: "src-f", target: "tgt", sync: "full" })).toBe("Need a root block node");
    expect(await r.err("blockdev-mirror", { device: "src", target: "tgt", sync: "full" })).toBe("Invalid job ID ''");
    expect(await r.err("blockdev-mirror", { "job-id": "m0", device: "src", target: "tgt", sync: "bitmap" })).toBe("Sync mode 'bitmap' not supported");
    // The job existed for a moment (created, then null) and its filter left again.
    expect(await r.err("blockdev-mirror", { "job-id": "m0", device: "src", target: "tgt", sync: "full", speed: -1 })).toBe("Parameter 'speed' expects a non-negative value");
    expect(r.events().map(([, s]) => s)).toEqual(["created", "null"]);
    // A failed start leaves nothing behind.
    expect(await graphEdges()).toEqual(["tgt -file-> tgt-f", "src -file-> src-f"]);
    expect(await r.ok("query-jobs")).toEqual([]);
  });
});

describe("an active commit", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
    await r.engine.createImage({ path: "base.qcow2", format: "qcow2", size: MiB });
    await r.engine.createImage({ path: "top.qcow2", format: "qcow2", size: MiB, backingFile: "base.qcow2", backingFormat: "qcow2" });
    await r.ok("blockdev-add", { driver: "qcow2", "node-name": "top", file: { driver: "file", filename: "top.qcow2" } });
  });
  afterEach(() => r.close());

  const nodes = async (): Promise<Record<string, Record<string, unknown>>> =>
    Object.fromEntries(((await r.ok("query-named-block-nodes", { flat: true })) as Array<Record<string, unknown>>).map((n) => [n["node-name"], n]));

  it("is a commit job on a mirror_top; the read-only base is made writable and stays so", async () => {
    await r.ok("block-commit", { "job-id": "c0", device: "top" });
    const ready = await r.engine.waitEvent("BLOCK_JOB_READY", { timeoutMs: 10 });
    expect(ready.data).toEqual({ device: "c0", len: 0, offset: 0, speed: 0, type: "commit" });
    const during = Object.values(await nodes());
    expect(during.map((n) => n["drv"])).toContain("mirror_top");
    expect(during.every((n) => n["ro"] === false)).toBe(true);
    await r.ok("job-complete", { id: "c0" });
    await r.engine.waitEvent("JOB_STATUS_CHANGE", { match: { status: "null" }, timeoutMs: 10 });
    const after = Object.values(await nodes());
    expect(after.map((n) => n["drv"])).not.toContain("mirror_top");
    expect(after.every((n) => n["ro"] === false)).toBe(true);
  });

  it("refuses a backing-file for the active layer and an empty job id, leaving base read-only", async () => {
    expect(await r.err("block-commit", { "job-id": "c0", device: "top", "backing-file": "x" })).toBe("'backing-file' specified, but 'top' is the active layer");
    expect(await r.err("block-commit", { device: "top" })).toBe("Invalid job ID ''");
    expect(Object.values(await nodes()).filter((n) => n["ro"]).length).toBe(2);
  });
});
