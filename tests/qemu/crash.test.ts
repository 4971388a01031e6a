/** Real QEMU dying under the engine: the next call says how, with the log tail. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { QemuCrashedError, QemuEngineStateError, QemuTimeoutError } from "../../src/engines/qemu/errors.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";
import { alive, goneWithin } from "./fake-qemu.js";

let workdir: string;
let e: QemuEngine;

beforeEach(() => {
  workdir = mkdtempSync(join(tmpdir(), "bc-qemu-test-"));
  e = new QemuEngine();
});
afterEach(async () => {
  await e.stop();
  rmSync(workdir, { recursive: true, force: true });
});

describeWithQemu("qemu engine when QEMU dies or hangs", () => {
  it("kill -9 mid-scenario: the next call fails with QemuCrashedError naming the signal", async () => {
    await e.start({ workdir });
    expect(await e.qmp("blockdev-add", { driver: "null-co", "node-name": "n0" })).toEqual({ return: {} });
    process.kill(e.pid!, "SIGKILL");
    const error = await e.qmp("query-named-block-nodes").catch((x: unknown) => x);
    expect(error).toBeInstanceOf(QemuCrashedError);
    expect(error).toMatchObject({ code: "E_QEMU_CRASHED", command: "query-named-block-nodes", exit: { signal: "SIGKILL" } });
    expect((error as Error).message).toMatch(/killed by signal SIGKILL/);
    await e.stop();
    await e.stop();
  });

  it("an assertion failure in QEMU: SIGABRT and QEMU's own message in the error", async () => {
    await e.start({ workdir });
    const pid = e.pid;
    // QEMU 7.2 aborts on an empty reopen list (bdrv_reopen_multiple: Assertion `bs_queue != NULL').
    const error = await e.qmp("blockdev-reopen", { options: [] }).catch((x: unknown) => x);
    expect(error).toBeInstanceOf(QemuCrashedError);
    expect(error).toMatchObject({ command: "blockdev-reopen", exit: { signal: "SIGABRT" } });
    expect((error as QemuCrashedError).logTail).toMatch(/Assertion `bs_queue != NULL' failed/);
    expect(alive(pid)).toBe(false);
  });

  it("a hung QEMU (SIGSTOP): the call times out with QemuTimeoutError and QEMU is killed", async () => {
    e = new QemuEngine({ callTimeoutMs: 1_000 });
    await e.start({ workdir });
    const pid = e.pid;
    process.kill(pid!, "SIGSTOP");
    const error = await e.qmp("query-named-block-nodes").catch((x: unknown) => x);
    expect(error).toBeInstanceOf(QemuTimeoutError);
    expect(error).toMatchObject({ code: "E_QEMU_TIMEOUT", command: "query-named-block-nodes", timeoutMs: 1_000 });
    expect(await goneWithin(pid, 2_000)).toBe(true);
    await expect(e.qmp("query-version")).rejects.toBeInstanceOf(QemuEngineStateError);
  });
});
