/**
 * Drains a READY mirror notices, and what `quit` does to a live job. Each expectation is what real
 * qemu-storage-daemon 7.2.22 sends for the same commands (a READY job shows a standby/ready pair
 * per drained section of one of its nodes):
 * - `blk_unref` drains its node twice (blk_unref, then blk_remove_bs): the probing BlockBackend
 *   bdrv_open_inherit puts on a new format node's `file` (2 pairs when that file is a job's node,
 *   none when the job's node is only its backing), a failing block-export-add, block-export-del
 *   (before BLOCK_EXPORT_DELETED); a successful block-export-add takes no drain;
 * - `quit`: exports closed, bdrv_drain_all_begin (standby), job_cancel_sync_all (ready, aborting,
 *   BLOCK_JOB_CANCELLED, concluded, null); a concluded job is dismissed.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Rig, rig } from "./support.js";

const MiB = 1 << 20;
const PAIR: Array<[string, unknown]> = [
  ["JOB_STATUS_CHANGE", "standby"],
  ["JOB_STATUS_CHANGE", "ready"],
];

describe("drains of a READY mirror's nodes, and quit", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
    for (const name of ["src", "tgt", "new"]) await r.engine.createImage({ path: `${name}.qcow2`, format: "qcow2", size: MiB });
    for (const name of ["src", "tgt"]) {
      await r.ok("blockdev-add", { driver: "qcow2", "node-name": name, file: { driver: "file", filename: `${name}.qcow2`, "node-name": `${name}-f` } });
    }
    await r.ok("blockdev-mirror", { "job-id": "j0", device: "src", target: "tgt", sync: "full" });
    await r.engine.waitEvent("BLOCK_JOB_READY", { timeoutMs: 10 });
    r.events();
  });
  afterEach(() => r.close());

  it("a new node whose file is the source, the target or the source's file: two pairs each", async () => {
    for (const [name, file] of [["r1", "src"], ["r2", "tgt"], ["r3", "src-f"]]) {
      await r.ok("blockdev-add", { driver: "raw", "node-name": name, file, "read-only": true });
      expect(r.events()).toEqual([...PAIR, ...PAIR]);
    }
  });

  it("a new node with the source as its backing file only: no drain reaches the job", async () => {
    await r.ok("blockdev-add", { driver: "qcow2", "node-name": "n1", file: { driver: "file", filename: "new.qcow2" }, backing: "src", "read-only": true });
    expect(r.events()).toEqual([]);
  });

  it("blockdev-del of a parent of the source: no drain reaches the job", async () => {
    await r.ok("blockdev-add", { driver: "raw", "node-name": "r1", file: "src", "read-only": true });
    r.events();
    await r.ok("blockdev-del", { "node-name": "r1" });
    expect(r.events()).toEqual([]);
  });

  it("exports: a failing add and a del drain twice, a successful add does not", async () => {
    expect(await r.err("block-export-add", { type: "nbd", id: "e1", "node-name": "src" })).toBe("NBD server not running");
    expect(r.events()).toEqual([...PAIR, ...PAIR]);
    await r.ok("nbd-server-start", { addr: { type: "unix", data: { path: `${r.dir}/nbd.sock` } } });
    await r.ok("block-export-add", { type: "nbd", id: "e1", "node-name": "src" });
    expect(r.events()).toEqual([]);
    await r.ok("block-export-del", { id: "e1" });
    expect(r.events()).toEqual([...PAIR, ...PAIR, ["BLOCK_EXPORT_DELETED", undefined]]);
  });

  it("quit drains the job, then cancels it and runs it to its end", async () => {
    await r.ok("quit");
    expect(r.events()).toEqual([
      ...PAIR,
      ["JOB_STATUS_CHANGE", "aborting"],
      ["BLOCK_JOB_CANCELLED", undefined],
      ["JOB_STATUS_CHANGE", "concluded"],
      ["JOB_STATUS_CHANGE", "null"],
    ]);
  });

  it("quit dismisses a concluded job", async () => {
    await r.ok("job-cancel", { id: "j0" });
    await r.engine.waitEvent("BLOCK_JOB_CANCELLED", { timeoutMs: 10 });
    r.events();
    await r.ok("blockdev-mirror", { "job-id": "j1", device: "src", target: "tgt", sync: "full", "auto-dismiss": false });
    await r.engine.waitEvent("BLOCK_JOB_READY", { timeoutMs: 10 });
    await r.ok("job-cancel", { id: "j1" });
    await r.engine.waitEvent("BLOCK_JOB_CANCELLED", { timeoutMs: 10 });
    r.events();
    await r.ok("quit");
    expect(r.events()).toEqual([["JOB_STATUS_CHANGE", "null"]]);
  });
});
