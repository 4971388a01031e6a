/** The ModelEngine face of the model: lifecycle, greeting, capabilities, images, events. */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { EngineCrashedError } from "../../src/engines/errors.js";
import { BlockLayer } from "../../src/engines/model/block-layer.js";
import { msToNs } from "../../src/engines/model/main-loop.js";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { qemuAssert, QemuWouldCrashError } from "../../src/engines/model/qemu-would-crash.js";
import { QmpEventTimeoutError } from "../../src/qmp/errors.js";
import { qemuJson } from "./support/qsd.js";

describe("ModelEngine", () => {
  let dir: string;
  let engine: ModelEngine;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "blockcheck-engine-"));
    engine = new ModelEngine();
    await engine.start({ workdir: dir });
  });
  afterEach(async () => {
    await engine.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("describes itself as qemu-storage-daemon 7.2.22 greets", () => {
    const info = engine.describe();
    expect(info).toMatchObject({ kind: "model", version: { major: 7, minor: 2, micro: 22 } });
    expect([...info.features]).toEqual(["io", "jobs"]);
    expect(info.drivers).toEqual([
      "blkdebug",
      "blklogwrites",
      "blkverify",
      "compress",
      "copy-before-write",
      "copy-on-read",
      "file",
      "host_cdrom",
      "host_device",
      "luks",
      "nbd",
      "null-aio",
      "null-co",
      "parallels",
      "preallocate",
      "qcow",
      "qcow2",
      "qed",
      "quorum",
      "raw",
      "snapshot-access",
      "throttle",
      "vdi",
      "vhdx",
      "vmdk",
      "vpc",
    ]);
    expect(qemuJson(info.greeting)).toBe(
      '{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7+deb12u18+b3"}, "capabilities": ["oob"]}}',
    );
  });

  it("is already in command mode and answers query-version like the binary", async () => {
    expect(await engine.qmp("qmp_capabilities")).toEqual({
      error: { class: "CommandNotFound", desc: "Capabilities negotiation is already complete, command ignored" },
    });
    expect(qemuJson(await engine.qmp("query-version"))).toBe(
      '{"return": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7+deb12u18+b3"}}',
    );
    expect(await engine.qmp("no-such-command")).toEqual({
      error: { class: "CommandNotFound", desc: "The command no-such-command has not been found" },
    });
  });

  it("creates images relative to the workdir and opens them by relative name", async () => {
    await engine.createImage({ path: "base.qcow2", format: "qcow2", size: 1 << 20 });
    await engine.createImage({ path: "top.qcow2", format: "qcow2", size: 1 << 20, backingFile: "base.qcow2", backingFormat: "qcow2" });
    await engine.createImage({ path: "raw.img", format: "raw", size: 65536 });
    // In memory until asked for on disk; then the model works on the files on disk.
    expect(existsSync(join(dir, "top.qcow2"))).toBe(false);
    expect(await engine.qmp("blockdev-add", { driver: "qcow2", "node-name": "m0", file: { driver: "file", filename: "top.qcow2" } })).toEqual({
      return: {},
    });
    engine.writeFilesOut();
    expect(readFileSync(join(dir, "top.qcow2")).subarray(0, 4).toString("latin1")).toBe("QFI\xfb");
    expect(statSync(join(dir, "raw.img")).size).toBe(65536);
    expect(await engine.qmp("blockdev-add", { driver: "raw", "node-name": "r0", file: { driver: "file", filename: "raw.img" } })).toEqual({
      return: {},
    });
  });

  it("queues BLOCK_EXPORT_DELETED for takeEvents and waitEvent", async () => {
    await engine.qmp("blockdev-add", { driver: "null-co", "node-name": "n0" });
    await engine.qmp("nbd-server-start", { addr: { type: "unix", data: { path: join(dir, "nbd.sock") } } });
    await engine.qmp("block-export-add", { type: "nbd", id: "e0", "node-name": "n0" });
    await engine.qmp("block-export-del", { id: "e0" });
    expect(await engine.waitEvent("BLOCK_EXPORT_DELETED", { timeoutMs: 1000 })).toMatchObject({ event: "BLOCK_EXPORT_DELETED", data: { id: "e0" } });
    expect(engine.takeEvents()).toEqual([]);
    await expect(engine.waitEvent("BLOCK_EXPORT_DELETED", { timeoutMs: 10 })).rejects.toBeInstanceOf(QmpEventTimeoutError);
  });

  it("refuses commands after quit and after stop; stop is idempotent", async () => {
    expect(await engine.qmp("quit")).toEqual({ return: {} });
    await expect(engine.qmp("query-version")).rejects.toThrow(/stopped/);
    await engine.stop();
    await engine.stop();
  });
});

/**
 * A stand-in for a block job's coroutine: entered from a bottom half, then woken every `stepMs` of
 * virtual time by its timer, it reports one status per wake-up.
 */
function startDummyJob(engine: ModelEngine, id: string, stepMs: number, statuses: string[]): void {
  let next = 0;
  const timer = engine.loop.newTimer(() => {
    engine.emit("JOB_STATUS_CHANGE", { id, status: statuses[next++] });
    if (next < statuses.length) timer.mod(engine.loop.nowNs + msToNs(stepMs));
  });
  engine.loop.scheduleBh(() => timer.mod(engine.loop.nowNs + msToNs(stepMs)));
}

/** Event, data and virtual time in ms (the timestamp less the engine's start time). */
function story(events: { event: string; data?: unknown; timestamp?: { seconds: number; microseconds: number } }[], epochUs: number) {
  return events.map((e) => [e.event, e.data, (e.timestamp!.seconds * 1e6 + e.timestamp!.microseconds - epochUs) / 1000]);
}

describe("ModelEngine on its virtual clock", () => {
  let dir: string;
  let engine: ModelEngine;
  let epochUs: number;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "blockcheck-engine-"));
    engine = new ModelEngine();
    await engine.start({ workdir: dir });
    // The timestamp of an event emitted before time moves is the engine's start time.
    engine.emit("PROBE");
    const [probe] = engine.takeEvents();
    epochUs = probe!.timestamp!.seconds * 1e6 + probe!.timestamp!.microseconds;
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await engine.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a wait advances timer by timer to the event it wants; the others stay queued, in order", async () => {
    startDummyJob(engine, "j0", 10, ["created", "running", "ready", "concluded"]);
    startDummyJob(engine, "j1", 15, ["created", "running", "concluded"]);
    const concluded = await engine.waitEvent("JOB_STATUS_CHANGE", { match: { id: "j0", status: "concluded" }, timeoutMs: 1_000 });
    expect(story([concluded], epochUs)).toEqual([["JOB_STATUS_CHANGE", { id: "j0", status: "concluded" }, 40]]);
    expect(engine.loop.nowNs).toBe(msToNs(40));
    // At 30 ms both jobs wake; j1's timer was armed first (at 15 ms), so it runs first.
    expect(story(engine.takeEvents(), epochUs)).toEqual([
      ["JOB_STATUS_CHANGE", { id: "j0", status: "created" }, 10],
      ["JOB_STATUS_CHANGE", { id: "j1", status: "created" }, 15],
      ["JOB_STATUS_CHANGE", { id: "j0", status: "running" }, 20],
      ["JOB_STATUS_CHANGE", { id: "j1", status: "running" }, 30],
      ["JOB_STATUS_CHANGE", { id: "j0", status: "ready" }, 30],
    ]);
    const j1 = await engine.waitEvent("JOB_STATUS_CHANGE", { match: { id: "j1" }, timeoutMs: 1_000 });
    expect(story([j1], epochUs)).toEqual([["JOB_STATUS_CHANGE", { id: "j1", status: "concluded" }, 45]]);
    expect(engine.loop.idle).toBe(true);
  });

  it("an event nothing will send times out at once in real time; virtual time reaches the deadline", async () => {
    const t0 = performance.now();
    const error = await engine.waitEvent("BLOCK_JOB_COMPLETED", { timeoutMs: 3_600_000 }).catch((x: unknown) => x);
    expect(error).toBeInstanceOf(QmpEventTimeoutError);
    expect(error).toMatchObject({ eventName: "BLOCK_JOB_COMPLETED", timeoutMs: 3_600_000 });
    expect(performance.now() - t0).toBeLessThan(500);
    expect(engine.loop.nowNs).toBe(msToNs(3_600_000));
  });

  it("an event due after the deadline is not seen by that wait, but by a later one", async () => {
    startDummyJob(engine, "j0", 100, ["concluded"]);
    await expect(engine.waitEvent("JOB_STATUS_CHANGE", { timeoutMs: 50 })).rejects.toBeInstanceOf(QmpEventTimeoutError);
    expect(engine.loop.nowNs).toBe(msToNs(50));
    const e = await engine.waitEvent("JOB_STATUS_CHANGE", { timeoutMs: 50 });
    expect(story([e], epochUs)).toEqual([["JOB_STATUS_CHANGE", { id: "j0", status: "concluded" }, 100]]);
  });

  it("a command runs the bottom halves it leaves behind, but time does not pass", async () => {
    const ran: number[] = [];
    engine.loop.scheduleBh(() => ran.push(engine.loop.nowNs));
    engine.loop.after(1, () => ran.push(-1));
    await engine.qmp("query-version");
    expect(ran).toEqual([0]);
    expect(engine.loop.nowNs).toBe(0);
  });

  it("waiting for one export's deletion leaves another's event queued", async () => {
    await engine.qmp("blockdev-add", { driver: "null-co", "node-name": "n0" });
    await engine.qmp("nbd-server-start", { addr: { type: "unix", data: { path: join(dir, "nbd.sock") } } });
    await engine.qmp("block-export-add", { type: "nbd", id: "e0", "node-name": "n0" });
    await engine.qmp("block-export-add", { type: "nbd", id: "e1", "node-name": "n0", name: "two" });
    await engine.qmp("block-export-del", { id: "e1" });
    await engine.qmp("block-export-del", { id: "e0" });
    expect(await engine.waitEvent("BLOCK_EXPORT_DELETED", { match: { id: "e0" }, timeoutMs: 10 })).toMatchObject({ data: { id: "e0" } });
    expect(engine.takeEvents().map((e) => e.data)).toEqual([{ id: "e1" }]);
  });

  it("runs qemu-io as HMP does, its errors in the words of QEMU's monitor", async () => {
    await engine.qmp("blockdev-add", { driver: "null-co", "node-name": "n0", "read-zeroes": true });
    expect(await engine.io("n0", "read -P 0 0 512")).toMatch(/^read 512\/512 bytes at offset 0\n512 bytes, 1 ops; /);
    expect(await engine.io("nosuch", "read 0 512")).toBe("Error: Cannot find device='' nor node-name='nosuch'\r\n");
  });

  it("ends cleanly", async () => {
    expect(await engine.stop()).toEqual({ kind: "clean" });
  });
});

describe("ModelEngine where QEMU would crash", () => {
  let dir: string;
  let engine: ModelEngine;
  const assertion = "block.c:4390: bdrv_reopen_multiple: Assertion `bs_queue != NULL' failed.";
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "blockcheck-engine-"));
    engine = new ModelEngine();
    await engine.start({ workdir: dir });
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await engine.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("reports the crash as QEMU's, answers nothing more, and stop() names the signal", async () => {
    const real = BlockLayer.prototype.execute;
    vi.spyOn(BlockLayer.prototype, "execute").mockImplementation(function (this: BlockLayer, command, args) {
      if (command === "blockdev-reopen") throw new QemuWouldCrashError(command, "SIGABRT", assertion);
      return real.call(this, command, args);
    });
    expect(await engine.qmp("blockdev-add", { driver: "null-co", "node-name": "n0" })).toEqual({ return: {} });
    const error = await engine.qmp("blockdev-reopen", { options: [] }).catch((x: unknown) => x);
    expect(error).toBeInstanceOf(EngineCrashedError);
    expect(error).toMatchObject({ code: "E_QEMU_CRASHED", command: "blockdev-reopen", exit: { signal: "SIGABRT" }, summary: "SIGABRT" });
    expect((error as Error).message).toContain(assertion);
    expect((error as Error).cause).toBeInstanceOf(QemuWouldCrashError);

    await expect(engine.qmp("query-named-block-nodes")).rejects.toMatchObject({ code: "E_QEMU_CRASHED", command: "query-named-block-nodes", summary: "SIGABRT" });
    await expect(engine.waitEvent("BLOCK_EXPORT_DELETED", { timeoutMs: 10 })).rejects.toBeInstanceOf(EngineCrashedError);
    expect(await engine.stop()).toEqual({ kind: "crashed", exit: { exitCode: undefined, signal: "SIGABRT" }, logTail: assertion });
    expect(await engine.stop()).toMatchObject({ kind: "crashed" });
    await expect(engine.qmp("query-version")).rejects.toThrow(/stopped/);
  });

  it("a crash in a timer while waiting is the same crash", async () => {
    engine.loop.after(msToNs(5), () => {
      throw new QemuWouldCrashError("block-stream", "SIGSEGV", "stream.c: NULL dereference");
    });
    const error = await engine.waitEvent("BLOCK_JOB_COMPLETED", { timeoutMs: 100 }).catch((x: unknown) => x);
    expect(error).toBeInstanceOf(EngineCrashedError);
    expect(error).toMatchObject({ command: "waitEvent(BLOCK_JOB_COMPLETED)", summary: "SIGSEGV" });
    expect(await engine.stop()).toMatchObject({ kind: "crashed", exit: { signal: "SIGSEGV" } });
  });

  it("an assertion in a bottom half, outside any command handler, is the crash of the command that ran it", async () => {
    engine.loop.scheduleBh(() => qemuAssert({ file: "../../job.c", line: 1, func: "job_enter" }, "job->busy"));
    const error = await engine.qmp("query-version").catch((x: unknown) => x);
    expect(error).toMatchObject({ code: "E_QEMU_CRASHED", command: "query-version", summary: "SIGABRT" });
    expect(await engine.stop()).toMatchObject({ kind: "crashed", logTail: "../../job.c:1: job_enter: Assertion `job->busy' failed." });
  });

  it("the real model crashes on an empty reopen list, as QEMU 7.2 does", async () => {
    const error = await engine.qmp("blockdev-reopen", { options: [] }).catch((x: unknown) => x);
    expect(error).toMatchObject({ code: "E_QEMU_CRASHED", command: "blockdev-reopen", summary: "SIGABRT" });
    expect(await engine.stop()).toMatchObject({ kind: "crashed", logTail: expect.stringContaining("Assertion `bs_queue != NULL' failed.") });
  });
});
