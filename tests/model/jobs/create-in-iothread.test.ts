/**
 * blockdev-create of an image format on a file node in an iothread: blockdev_create_run runs in the
 * main loop without the node's context lock, and QEMU 7.2 (qemu-storage-daemon) aborts once the
 * create's I/O starts ("qemu_mutex_unlock_impl: Operation not permitted"), after the command has
 * answered, for qcow2, qcow, QED, parallels, VDI, VHD and VHDX alike. A create that fails its checks
 * first does no I/O and does not abort; nor does a create of the file itself, which uses no node.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EngineCrashedError } from "../../../src/engines/errors.js";
import { type Rig, rig } from "./support.js";

describe("blockdev-create on a node in an iothread", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
    await r.ok("object-add", { "qom-type": "iothread", id: "io0" });
    await r.ok("blockdev-create", { "job-id": "f", options: { driver: "file", filename: `${r.dir}/f.img`, size: 0 } });
    await r.engine.waitEvent("JOB_STATUS_CHANGE", { match: { id: "f", status: "concluded" }, timeoutMs: 10 });
    await r.ok("job-dismiss", { id: "f" });
    await r.ok("blockdev-add", { driver: "file", "node-name": "f", filename: `${r.dir}/f.img` });
    await r.ok("x-blockdev-set-iothread", { "node-name": "f", iothread: "io0" });
  });
  afterEach(() => r.close());

  it("answers, then aborts once the create writes", async () => {
    await r.ok("blockdev-create", { "job-id": "c0", options: { driver: "qed", file: "f", size: 1 << 20 } });
    const crash = await r.engine.qmp("query-jobs").catch((e: unknown) => e);
    expect(crash).toBeInstanceOf(EngineCrashedError);
    expect((crash as EngineCrashedError).summary).toBe("SIGABRT");
  });

  it("fails its checks without I/O, and makes the file itself, without aborting", async () => {
    await r.ok("blockdev-create", { "job-id": "c0", options: { driver: "qcow2", file: "f", size: 1000 } });
    await r.engine.waitEvent("JOB_STATUS_CHANGE", { match: { id: "c0", status: "concluded" }, timeoutMs: 10 });
    await r.ok("blockdev-create", { "job-id": "c1", options: { driver: "file", filename: `${r.dir}/f.img`, size: 1 << 20 } });
    await r.engine.waitEvent("JOB_STATUS_CHANGE", { match: { id: "c1", status: "concluded" }, timeoutMs: 10 });
    const jobs = (await r.ok("query-jobs")) as Array<Record<string, unknown>>;
    // Newest first.
    expect(jobs.map((j) => [j["id"], j["error"]])).toEqual([
      ["c1", undefined],
      ["c0", "Image size must be a multiple of 512 bytes"],
    ]);
  });
});
