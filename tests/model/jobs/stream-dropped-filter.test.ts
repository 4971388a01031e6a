/**
 * QEMU 7.2 segfaults on query-named-block-nodes while a stream job that ran its prepare is not yet
 * freed (tests/differential/qemu-bugs.test.ts shows it on real qemu-storage-daemon): the dropped
 * copy-on-read filter has no child, and its getlength dereferences it. The model crashes there too,
 * and only there: once the job is dismissed the filter is gone and the query answers. An NBD export
 * of the filter, named with filter-node-name, asks its length too (nbd_export_create) and crashes
 * the same way.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EngineCrashedError } from "../../../src/engines/errors.js";
import { type Rig, rig } from "./support.js";

describe("a concluded stream job's dropped filter", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
    await r.ok("blockdev-add", { driver: "null-co", "node-name": "n0" });
    await r.ok("block-stream", { "job-id": "j0", device: "n0", "auto-dismiss": false });
    await r.engine.waitEvent("JOB_STATUS_CHANGE", { match: { id: "j0", status: "concluded" }, timeoutMs: 10 });
  });
  afterEach(() => r.close());

  it("x-debug-query-block-graph still answers (it asks no length)", async () => {
    await r.ok("x-debug-query-block-graph");
  });

  it("query-named-block-nodes crashes the model as it crashes QEMU", async () => {
    const crash = await r.engine.qmp("query-named-block-nodes").catch((e: unknown) => e);
    expect(crash).toBeInstanceOf(EngineCrashedError);
    expect((crash as EngineCrashedError).summary).toBe("SIGSEGV");
  });

  it("an export of the named filter crashes the model as it crashes QEMU", async () => {
    await r.ok("blockdev-add", { driver: "null-co", "node-name": "n1" });
    await r.ok("block-stream", { "job-id": "j1", device: "n1", "filter-node-name": "cor", "auto-dismiss": false });
    await r.engine.waitEvent("JOB_STATUS_CHANGE", { match: { id: "j1", status: "concluded" }, timeoutMs: 10 });
    await r.ok("nbd-server-start", { addr: { type: "inet", data: { host: "127.0.0.1", port: "0" } } });
    const crash = await r.engine.qmp("block-export-add", { type: "nbd", id: "e0", "node-name": "cor" }).catch((e: unknown) => e);
    expect(crash).toBeInstanceOf(EngineCrashedError);
    expect((crash as EngineCrashedError).summary).toBe("SIGSEGV");
  });

  it("after job-dismiss the filter is gone and the query answers", async () => {
    await r.ok("job-dismiss", { id: "j0" });
    const nodes = (await r.ok("query-named-block-nodes")) as Array<{ drv: string }>;
    expect(nodes.map((n) => n.drv)).toEqual(["null-co"]);
  });
});
