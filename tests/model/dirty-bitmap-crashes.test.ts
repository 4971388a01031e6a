/**
 * Where QEMU 7.2's dirty bitmaps crash it (tests/differential/qemu-bugs.test.ts shows both on real
 * QEMU), the model crashes too, and only there:
 * - a `block-dirty-bitmap-merge` with an empty `bitmaps` list segfaults: the backup of the target
 *   is made by the first merge, and with none it frees a NULL bitmap;
 * - a write past the end of a bitmap made while its node was shorter aborts in `hbitmap_set`: a
 *   node that grew below it (a resize of its file) keeps its bitmaps' size;
 * - a bitmap an NBD export of another node publishes is released while busy when its node is
 *   deleted, and QEMU aborts; quitting is no crash (the exports go first).
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EngineCrashedError } from "../../src/engines/errors.js";
import { type Rig, rig } from "./jobs/support.js";

describe("block-dirty-bitmap-merge of no bitmap", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
    await r.ok("blockdev-add", { driver: "null-co", "node-name": "n0" });
    await r.ok("block-dirty-bitmap-add", { node: "n0", name: "b0" });
  });
  afterEach(() => r.close());

  it("crashes the model as it crashes QEMU", async () => {
    const crash = await r.engine.qmp("block-dirty-bitmap-merge", { node: "n0", target: "b0", bitmaps: [] }).catch((e: unknown) => e);
    expect(crash).toBeInstanceOf(EngineCrashedError);
    expect((crash as EngineCrashedError).summary).toBe("SIGSEGV");
  });

  it("is an error first when the target is not there", async () => {
    const reply = await r.engine.qmp("block-dirty-bitmap-merge", { node: "n0", target: "nosuch", bitmaps: [] });
    expect(reply).toMatchObject({ error: { desc: "Dirty bitmap 'nosuch' not found" } });
  });

  it("merges a source", async () => {
    await r.ok("block-dirty-bitmap-add", { node: "n0", name: "b1" });
    await r.ok("block-dirty-bitmap-merge", { node: "n0", target: "b0", bitmaps: ["b1", { node: "n0", name: "b1" }] });
  });
});

describe("a write past the end of a bitmap its node outgrew", () => {
  let r: Rig;
  const qemuIo = (cmd: string) => r.engine.io("r", cmd);
  beforeEach(async () => {
    r = await rig(new Set(["io"]));
    writeFileSync(path.join(r.dir, "r.raw"), Buffer.alloc(1 << 20));
    await r.ok("blockdev-add", { driver: "raw", "node-name": "r", file: { driver: "file", "node-name": "f", filename: path.join(r.dir, "r.raw") } });
    await r.ok("block-dirty-bitmap-add", { node: "r", name: "b", granularity: 512 });
    await r.ok("block_resize", { "node-name": "f", size: 2 << 20 });
  });
  afterEach(() => r.close());

  it("aborts the model as it aborts QEMU", async () => {
    const crash = await qemuIo("write 983040 196608").catch((e: unknown) => e);
    expect(crash).toBeInstanceOf(EngineCrashedError);
    expect((crash as EngineCrashedError).summary).toBe("SIGABRT");
  });

  it("is no crash while the bitmap is disabled, or within its end", async () => {
    expect(await qemuIo("write 0 4096")).toContain("wrote 4096/4096 bytes");
    await r.ok("block-dirty-bitmap-disable", { node: "r", name: "b" });
    expect(await qemuIo("write 983040 196608")).toContain("wrote 196608/196608 bytes");
  });
});

describe("a bitmap an export of another node publishes", () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
    await r.ok("blockdev-add", { driver: "null-co", "node-name": "n", size: 1 << 20 });
    await r.ok("blockdev-add", { driver: "null-co", "node-name": "m", size: 1 << 20 });
    await r.ok("block-dirty-bitmap-add", { node: "m", name: "c", disabled: true });
    await r.ok("nbd-server-start", { addr: { type: "unix", data: { path: path.join(r.dir, "nbd.sock") } } });
  });
  afterEach(() => r.close());

  it("aborts the model when its node is deleted, as it aborts QEMU", async () => {
    await r.ok("block-export-add", { type: "nbd", id: "e1", "node-name": "n", bitmaps: [{ node: "m", name: "c" }] });
    const crash = await r.engine.qmp("blockdev-del", { "node-name": "m" }).catch((e: unknown) => e);
    expect(crash).toBeInstanceOf(EngineCrashedError);
    expect((crash as EngineCrashedError).summary).toBe("SIGABRT");
  });

  it("is no crash when the process ends with the export (quit closes exports first)", async () => {
    await r.ok("block-export-add", { type: "nbd", id: "e1", "node-name": "n", bitmaps: [{ node: "m", name: "c" }] });
    expect(await r.engine.stop()).toEqual({ kind: "clean" });
  });

  it("is no crash once the export is gone, or when the export's node holds the bitmap's", async () => {
    await r.ok("block-export-add", { type: "nbd", id: "e1", "node-name": "n", bitmaps: [{ node: "m", name: "c" }] });
    await r.ok("block-export-del", { id: "e1" });
    await r.ok("blockdev-del", { "node-name": "m" });
    await r.ok("blockdev-add", { driver: "raw", "node-name": "top", file: "n" });
    await r.ok("block-dirty-bitmap-add", { node: "n", name: "b", disabled: true });
    await r.ok("block-export-add", { type: "nbd", id: "e2", "node-name": "top", bitmaps: [{ node: "n", name: "b" }] });
    expect(await r.engine.stop()).toEqual({ kind: "clean" });
  });
});
