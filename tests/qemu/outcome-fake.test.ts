/**
 * How the qemu engine ends (stop()'s outcome), crashes as engine-neutral errors, and event matching,
 * against fake QEMU binaries: runs without QEMU installed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { EngineCrashedError, EngineFeatureMissingError } from "../../src/engines/errors.js";
import { CapabilityCache } from "../../src/engines/qemu/capabilities.js";
import { QemuCrashedError, QemuTimeoutError } from "../../src/engines/qemu/errors.js";
import { QemuEngine, type QemuEngineOptions } from "../../src/engines/qemu/qemu-engine.js";
import { QmpEventTimeoutError } from "../../src/qmp/errors.js";
import { alive, FakeQemu, type FakeMode } from "./fake-qemu.js";

let fake: FakeQemu;
const workdirs: string[] = [];
const engines: QemuEngine[] = [];

beforeAll(() => {
  fake = new FakeQemu();
});
afterAll(() => fake.remove());
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.stop()));
  for (const dir of workdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function started(mode: FakeMode, opts: QemuEngineOptions = {}): Promise<QemuEngine> {
  const workdir = mkdtempSync(join(tmpdir(), "bc-qemu-test-"));
  workdirs.push(workdir);
  const e = new QemuEngine({ binaries: { qsd: fake.binary(mode) }, capabilityCache: new CapabilityCache(), ...opts });
  engines.push(e);
  await e.start({ workdir });
  return e;
}

describe("qemu engine: how it ended (fake QEMU)", () => {
  it("a QEMU that quits is a clean end, and stop() keeps saying so", async () => {
    const e = await started("ok");
    expect(await e.stop()).toEqual({ kind: "clean" });
    expect(await e.stop()).toEqual({ kind: "clean" });
  });

  it("a QEMU that ignores quit is killed, and stop() says so with the log tail", async () => {
    const e = await started("ignore-quit", { quitTimeoutMs: 300 });
    const pid = e.pid;
    const outcome = await e.stop();
    expect(outcome).toMatchObject({ kind: "killed", reason: "it did not exit within 300 ms of 'quit' and was killed" });
    expect(outcome.kind === "killed" && outcome.logTail).toContain("fake-qemu: mode ignore-quit");
    expect(alive(pid)).toBe(false);
  });

  it("a QEMU that aborts at quit crashed: the signal and its assertion", async () => {
    const e = await started("crash-at-quit");
    const outcome = await e.stop();
    expect(outcome).toMatchObject({ kind: "crashed", exit: { signal: "SIGABRT" } });
    expect(outcome.kind === "crashed" && outcome.logTail).toContain("bdrv_close_all: Assertion");
  });

  it("a crash during a command is an EngineCrashedError; later calls and stop() report the same death", async () => {
    const e = await started("ok");
    const error = await e.qmp("blockdev-reopen", { options: [] }).catch((x: unknown) => x);
    expect(error).toBeInstanceOf(QemuCrashedError);
    expect(error).toBeInstanceOf(EngineCrashedError);
    expect(error).toMatchObject({ code: "E_QEMU_CRASHED", command: "blockdev-reopen", summary: "SIGABRT" });
    await expect(e.qmp("query-named-block-nodes")).rejects.toMatchObject({ code: "E_QEMU_CRASHED", summary: "SIGABRT" });
    const outcome = await e.stop();
    expect(outcome).toMatchObject({ kind: "crashed", exit: { signal: "SIGABRT" } });
    expect(outcome.kind === "crashed" && outcome.logTail).toContain("Assertion `bs_queue != NULL' failed");
  });

  it("a QEMU killed for hanging ended 'killed', for the reason it was killed", async () => {
    const e = await started("hang", { callTimeoutMs: 300 });
    await expect(e.qmp("x-hang")).rejects.toBeInstanceOf(QemuTimeoutError);
    expect(await e.stop()).toMatchObject({ kind: "killed", reason: "it did not answer 'x-hang' within 300 ms and was killed" });
  });

  it("a failed start still tells how QEMU ended", async () => {
    const workdir = mkdtempSync(join(tmpdir(), "bc-qemu-test-"));
    workdirs.push(workdir);
    const e = new QemuEngine({ binaries: { qsd: fake.binary("exit-early") }, capabilityCache: new CapabilityCache() });
    await expect(e.start({ workdir })).rejects.toMatchObject({ code: "E_QEMU_START" });
    const outcome = await e.stop();
    expect(outcome).toMatchObject({ kind: "crashed", exit: { exitCode: 3 } });
    expect(outcome.kind === "crashed" && outcome.logTail).toContain("fake-qemu: cannot do that");
  });

  it("a QEMU killed because it never connected ended 'killed'", async () => {
    const workdir = mkdtempSync(join(tmpdir(), "bc-qemu-test-"));
    workdirs.push(workdir);
    const e = new QemuEngine({ binaries: { qsd: fake.binary("no-connect") }, capabilityCache: new CapabilityCache(), startTimeoutMs: 300 });
    await expect(e.start({ workdir })).rejects.toMatchObject({ code: "E_QEMU_START" });
    expect(await e.stop()).toMatchObject({ kind: "killed", reason: "QEMU did not connect to its monitor within 300 ms; it was killed" });
  });

  it("io without the io feature is the engine-neutral EngineFeatureMissingError", async () => {
    const e = await started("ok");
    const error = await e.io("n0", "read 0 512").catch((x: unknown) => x);
    expect(error).toBeInstanceOf(EngineFeatureMissingError);
    expect(error).toMatchObject({ engine: "qemu", feature: "io" });
  });
});

describe("qemu engine: waiting for the event you mean (fake QEMU)", () => {
  const deleted = (id: string) => ({ event: "BLOCK_EXPORT_DELETED", data: { id } });

  it("skips queued events that do not match and keeps them for later", async () => {
    const e = await started("ok");
    await e.qmp("x-emit", { events: [deleted("e1"), deleted("e0"), { event: "JOB_STATUS_CHANGE", data: { id: "j0", status: "created" } }] });
    expect(await e.waitEvent("BLOCK_EXPORT_DELETED", { match: { id: "e0" }, timeoutMs: 1_000 })).toMatchObject(deleted("e0"));
    expect(e.takeEvents().map((ev) => ev.data)).toEqual([{ id: "e1" }, { id: "j0", status: "created" }]);
  });

  it("a waiter gets only a matching arrival; the others stay queued", async () => {
    const e = await started("ok");
    const waiting = e.waitEvent("JOB_STATUS_CHANGE", { match: { status: "concluded" }, timeoutMs: 2_000 });
    await e.qmp("x-emit", {
      events: [
        { event: "JOB_STATUS_CHANGE", data: { id: "j0", status: "running" } },
        { event: "JOB_STATUS_CHANGE", data: { id: "j0", status: "concluded" } },
      ],
    });
    expect(await waiting).toMatchObject({ data: { id: "j0", status: "concluded" } });
    expect(e.takeEvents().map((ev) => ev.data)).toEqual([{ id: "j0", status: "running" }]);
  });

  it("times out when nothing matches, leaving what came", async () => {
    const e = await started("ok");
    await e.qmp("x-emit", { events: [deleted("e1")] });
    await expect(e.waitEvent("BLOCK_EXPORT_DELETED", { match: { id: "e0" }, timeoutMs: 50 })).rejects.toBeInstanceOf(QmpEventTimeoutError);
    expect(e.takeEvents()).toEqual([expect.objectContaining(deleted("e1"))]);
  });
});
