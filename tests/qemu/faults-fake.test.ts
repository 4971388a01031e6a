/** Engine fault handling against fake QEMU binaries: runs without QEMU installed. */
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/errors.js";
import { CapabilityCache } from "../../src/engines/qemu/capabilities.js";
import {
  QemuConnectionError,
  QemuEngineStateError,
  QemuStartError,
  QemuTimeoutError,
} from "../../src/engines/qemu/errors.js";
import { QemuEngine, type QemuEngineOptions } from "../../src/engines/qemu/qemu-engine.js";
import { reaper } from "../../src/engines/qemu/reaper.js";
import { alive, FakeQemu, type FakeMode } from "./fake-qemu.js";

let fake: FakeQemu;
let workdir: string;
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

function newWorkdir(): string {
  workdir = mkdtempSync(join(tmpdir(), "bc-qemu-test-"));
  workdirs.push(workdir);
  return workdir;
}

function engine(mode: FakeMode, opts: QemuEngineOptions = {}): QemuEngine {
  newWorkdir();
  const e = new QemuEngine({ binaries: { qsd: fake.binary(mode) }, capabilityCache: new CapabilityCache(), ...opts });
  engines.push(e);
  return e;
}

describe("qemu engine faults (fake QEMU)", () => {
  it("starts, reports what the binary says, and stops cleanly", async () => {
    const e = engine("ok");
    await e.start({ workdir });
    expect(e.describe()).toMatchObject({ kind: "qemu", version: { major: 6, minor: 1, micro: 0 }, drivers: ["file", "raw"] });
    expect([...e.describe().features]).toEqual(["jobs"]);
    expect(reaper.size).toBe(1);
    const pid = e.pid;
    await e.stop();
    expect(alive(pid)).toBe(false);
    expect(reaper.size).toBe(0);
    expect(readdirSync(workdir)).toEqual([]);
  });

  it("stop() returns and leaves no process when QEMU ignores quit and SIGTERM", async () => {
    const e = engine("ignore-quit", { quitTimeoutMs: 300 });
    await e.start({ workdir });
    const pid = e.pid;
    expect(alive(pid)).toBe(true);
    const t0 = Date.now();
    await e.stop();
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(alive(pid)).toBe(false);
    await e.stop(); // idempotent
  });

  it("a hung command times out with QemuTimeoutError; QEMU is killed and later calls say why", async () => {
    const e = engine("hang", { callTimeoutMs: 500 });
    await e.start({ workdir });
    const pid = e.pid;
    const error = await e.qmp("x-hang").catch((x: unknown) => x);
    expect(error).toBeInstanceOf(QemuTimeoutError);
    expect(error).toMatchObject({ code: "E_QEMU_TIMEOUT", command: "x-hang" });
    expect((error as Error).message).toContain("fake-qemu: mode hang");
    expect(alive(pid)).toBe(false);
    await expect(e.qmp("query-status")).rejects.toThrow(/QEMU is gone .*x-hang/);
    await e.stop();
  });

  it("garbage on the monitor kills QEMU and fails the call with QemuConnectionError", async () => {
    const e = engine("garbage");
    await e.start({ workdir });
    const pid = e.pid;
    await expect(e.qmp("x-garbage")).rejects.toBeInstanceOf(QemuConnectionError);
    expect(alive(pid)).toBe(false);
  });

  it("a QEMU that crashes while the engine sets it up (several commands in flight) fails the start, and nothing else", async () => {
    // The engine's own commands after the handshake go out together; every one fails when QEMU dies,
    // and a failure nobody awaits would end the runner (vitest reports it as an unhandled rejection).
    const e = engine("crash-at-setup");
    await expect(e.start({ workdir, reusable: true })).rejects.toThrow();
    expect(reaper.size).toBe(0);
    expect(readdirSync(workdir)).toEqual([]);
  });

  it("a QEMU that exits at start gives QemuStartError with its exit code and log", async () => {
    const e = engine("exit-early");
    const error = await e.start({ workdir }).catch((x: unknown) => x);
    expect(error).toBeInstanceOf(QemuStartError);
    expect(error).toMatchObject({ code: "E_QEMU_START", exit: { exitCode: 3 } });
    expect((error as Error).message).toContain("fake-qemu: cannot do that");
    expect((error as Error).message).toContain("--chardev socket,id=mon0");
    expect(readdirSync(workdir)).toEqual([]);
    expect(reaper.size).toBe(0);
  });

  it("a QEMU that never connects is bounded by the start timeout and killed", async () => {
    const e = engine("no-connect", { startTimeoutMs: 300 });
    const error = await e.start({ workdir }).catch((x: unknown) => x);
    expect(error).toBeInstanceOf(QemuStartError);
    expect((error as Error).message).toMatch(/did not connect to its monitor within 300 ms/);
    expect(reaper.size).toBe(0);
  });

  it("aborting the start signal fails the start and kills QEMU", async () => {
    const e = engine("no-connect", { startTimeoutMs: 10_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    await expect(e.start({ workdir, signal: controller.signal })).rejects.toThrow(/start aborted/);
    expect(reaper.size).toBe(0);
  });

  it("aborting after start stops the engine", async () => {
    const e = engine("ok");
    const controller = new AbortController();
    await e.start({ workdir, signal: controller.signal });
    const pid = e.pid;
    controller.abort();
    await e.stop();
    expect(alive(pid)).toBe(false);
    await expect(e.qmp("query-status")).rejects.toBeInstanceOf(QemuEngineStateError);
  });

  it("a missing binary is a ConfigError naming the variable to set", async () => {
    const e = new QemuEngine({ binaries: { qsd: join(fake.dir, "no-such-qsd") } });
    engines.push(e);
    newWorkdir();
    const error = await e.start({ workdir }).catch((x: unknown) => x);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/QSD_PROG/);
  });

  it("guards its states", async () => {
    const e = engine("ok");
    expect(() => e.describe()).toThrow(QemuEngineStateError);
    await expect(e.qmp("query-status")).rejects.toBeInstanceOf(QemuEngineStateError);
    await expect(e.createImage({ path: "a.raw", format: "raw", size: 1024 })).rejects.toBeInstanceOf(QemuEngineStateError);
    await e.start({ workdir });
    await expect(e.start({ workdir })).rejects.toBeInstanceOf(QemuEngineStateError);
    await expect(e.io("n", "read 0 1")).rejects.toMatchObject({ code: "E_QEMU_NO_IO" });
    await e.stop();
    await expect(e.qmp("query-status")).rejects.toBeInstanceOf(QemuEngineStateError);
    const never = engine("ok");
    await never.stop(); // stop before start is safe
    expect(existsSync(workdir)).toBe(true);
  });

  it("keeps QEMU's log only when asked", async () => {
    const e = engine("ok", { keepScratch: true });
    await e.start({ workdir });
    const log = e.logPath!;
    await e.stop();
    expect(readdirSync(workdir)).toEqual([basename(log)]);
    expect(readFileSync(log, "utf8")).toContain("fake-qemu: mode ok");
  });

  it("uses a 0700 directory of its own when the scratch directory is not private", async () => {
    const e = engine("ok", { keepScratch: true });
    chmodSync(workdir, 0o755);
    await e.start({ workdir });
    const dir = e.scratchDir!;
    expect(dirname(dir)).toBe(workdir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    await e.stop();
    expect(readdirSync(dir)).toEqual([basename(e.logPath!)]);
  });
});
