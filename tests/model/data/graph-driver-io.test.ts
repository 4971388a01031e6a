/**
 * The data paths of quorum, blkverify, copy-before-write and blklogwrites in the model: what the
 * model follows answers as QEMU 7.2 does, and what it does not follow is a typed error, never an
 * answer (a qcow2 over a quorum once said "Image is not in qcow2 format", where QEMU reads its
 * header through the vote).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EngineCrashedError } from "../../../src/engines/errors.js";
import { ModelEngine } from "../../../src/engines/model/model-engine.js";

describe("data paths of the graph drivers on the model", () => {
  let dir: string;
  let engine: ModelEngine;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "bc-graph-io-"));
    engine = new ModelEngine();
    await engine.start({ workdir: dir });
  });
  afterEach(async () => {
    await engine.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const file = (name: string) => ({ driver: "file", filename: join(dir, name) });
  const add = (args: Record<string, unknown>) => engine.qmp("blockdev-add", args);

  it("opens a qcow2 over a quorum whose children hold the same image, and reads through the vote", async () => {
    for (const n of ["a", "b", "c"]) await engine.createImage({ path: `${n}.qcow2`, format: "qcow2", size: 1 << 20 });
    expect(await add({ driver: "quorum", "node-name": "q0", "vote-threshold": 2, children: [file("a.qcow2"), file("b.qcow2"), file("c.qcow2")] })).toEqual({ return: {} });
    expect(await add({ driver: "qcow2", "node-name": "top", file: "q0" })).toEqual({ return: {} });
    expect(await engine.io("top", "write -P 0x11 0 64k")).toMatch(/^wrote 65536\/65536/);
    expect(await engine.io("top", "read -P 0x11 0 64k")).toMatch(/^read 65536\/65536/);
  });

  it("opens a qcow2 image whose header the quorum below votes on, the odd child reported", async () => {
    for (const n of ["a", "b", "c"]) await engine.createImage({ path: `${n}.qcow2`, format: "qcow2", size: 1 << 20 });
    // One child's header differs: qcow2_do_open reads it through the quorum, which votes. The files
    // go to disk first, where the test changes one behind the model's back.
    engine.writeFilesOut();
    writeFileSync(join(dir, "c.qcow2"), Buffer.alloc(512, 0x5a), { flag: "r+" });
    expect(await add({ driver: "quorum", "node-name": "q0", "vote-threshold": 2, children: [file("a.qcow2"), file("b.qcow2"), file("c.qcow2")] })).toEqual({ return: {} });
    engine.takeEvents();
    expect(await add({ driver: "qcow2", "node-name": "top", file: "q0" })).toEqual({ return: {} });
    const bad = engine.takeEvents().filter((e) => e.event === "QUORUM_REPORT_BAD");
    expect(bad.length).toBeGreaterThan(0);
    expect(bad[0]!.data).toMatchObject({ "sector-num": 0, type: "read" });
    expect(await engine.io("top", "read -P 0 0 64k")).toMatch(/^read 65536\/65536/);
  });

  it("votes on reads: the majority wins, a minority child is reported, too few agreeing fails", async () => {
    for (const n of ["a", "b", "c"]) await engine.createImage({ path: `${n}.raw`, format: "raw", size: 64 << 10 });
    engine.writeFilesOut();
    writeFileSync(join(dir, "c.raw"), Buffer.alloc(512, 0x22), { flag: "r+" });
    await add({ ...file("a.raw"), "node-name": "fa" });
    await add({ ...file("b.raw"), "node-name": "fb" });
    await add({ ...file("c.raw"), "node-name": "fc" });
    await add({ driver: "quorum", "node-name": "q0", "vote-threshold": 2, children: ["fa", "fb", "fc"] });
    engine.takeEvents();
    expect(await engine.io("q0", "read -P 0 0 512")).toMatch(/^read 512\/512/);
    expect(engine.takeEvents().map((e) => [e.event, e.data])).toEqual([["QUORUM_REPORT_BAD", { "node-name": "fc", "sector-num": 0, "sectors-count": 1, type: "read" }]]);
  });

  it("crashes with exit code 1 where blkverify finds its children differ", async () => {
    await engine.createImage({ path: "r.raw", format: "raw", size: 64 << 10 });
    await engine.createImage({ path: "t.raw", format: "raw", size: 64 << 10 });
    engine.writeFilesOut();
    writeFileSync(join(dir, "t.raw"), Buffer.alloc(16, 0x33), { flag: "r+" });
    await add({ driver: "blkverify", "node-name": "bv", raw: file("r.raw"), test: file("t.raw") });
    expect(await engine.io("bv", "read -P 0 4k 4k")).toMatch(/^read 4096\/4096/);
    await expect(engine.io("bv", "read 0 4k")).rejects.toBeInstanceOf(EngineCrashedError);
    expect(await engine.stop()).toMatchObject({ kind: "crashed", exit: { exitCode: 1 } });
  });

  it("refuses a blkverify write whose two qcow2 children share one image, and writes through children that only pass it on", async () => {
    // QEMU runs the two writes as coroutines that take turns at each wait for I/O: both qcow2 nodes
    // allocate the same clusters from the refcounts they read, and the read after it passes on
    // QEMU 7.2.22. One after the other, the second allocates over the first's data.
    await engine.createImage({ path: "a.qcow2", format: "qcow2", size: 1 << 20 });
    await add({ driver: "blkverify", "node-name": "bv", raw: { driver: "qcow2", "node-name": "r", file: file("a.qcow2") }, test: { driver: "qcow2", "node-name": "t", file: { ...file("a.qcow2"), locking: "off" } } });
    await expect(engine.io("bv", "write -P 0xa5 0 512")).rejects.toMatchObject({ code: "E_MODEL_IO_UNSUPPORTED", message: expect.stringMatching(/blkverify whose children 't' and 'r' reach one host file/) });
    await engine.qmp("object-add", { "qom-type": "throttle-group", id: "tg", limits: {} });
    await engine.createImage({ path: "b.raw", format: "raw", size: 1 << 20 });
    await add({ driver: "blkverify", "node-name": "bp", raw: { driver: "raw", file: file("b.raw") }, test: { driver: "throttle", "throttle-group": "tg", file: { ...file("b.raw"), locking: "off" } } });
    expect(await engine.io("bp", "write -P 0x5a 0 512")).toMatch(/^wrote 512\/512/);
  });
});
