/**
 * A QEMU that crashes, during a step or at quit, is a result: the same transcript from the model
 * (where QEMU would crash) and from QEMU (fake, and real where installed); the engine's own detail
 * only in the failure.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../../src/engines/engine.js";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { CapabilityCache } from "../../src/engines/qemu/capabilities.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { runOnEngine } from "../../src/runner/run-on-engine.js";
import { createScratch, removeScratch, type Scratch } from "../../src/runner/scratch.js";
import { FakeQemu, type FakeMode } from "../qemu/fake-qemu.js";
import { describeWithQemu } from "../support/qemu.js";
import { scenario } from "./support/scenario.js";

const CRASHING = ['scenario "an empty reopen list"', 'qmp blockdev-reopen {"options": []}', "qmp query-status", ""].join("\n");

const CRASH_TRANSCRIPT = [
  'scenario "an empty reopen list"',
  "",
  'qmp blockdev-reopen {"options": []}',
  "  QEMU crashed: SIGABRT",
  "(run stopped)",
  "",
].join("\n");

let fake: FakeQemu;
const scratches: Scratch[] = [];
beforeAll(() => {
  fake = new FakeQemu();
});
afterAll(() => fake.remove());
afterEach(async () => {
  await Promise.all(scratches.splice(0).map(removeScratch));
});

async function run(text: string, engine: Engine) {
  const scratch = await createScratch();
  scratches.push(scratch);
  return runOnEngine(scenario(text)[0]!, engine, scratch, { timeoutMs: 10_000 });
}

function fakeQemu(mode: FakeMode, quitTimeoutMs = 5_000): QemuEngine {
  return new QemuEngine({ binaries: { qsd: fake.binary(mode) }, capabilityCache: new CapabilityCache(), quitTimeoutMs });
}

describe("a crash during a step", () => {
  it("reads the same on the model and on QEMU; the detail is only in the failure", async () => {
    const model = await run(CRASHING, new ModelEngine());
    const qemu = await run(CRASHING, fakeQemu("ok"));
    expect(model.transcript).toBe(CRASH_TRANSCRIPT);
    expect(qemu.transcript).toBe(CRASH_TRANSCRIPT);
    for (const r of [model, qemu]) {
      expect(r.status).toBe("fail");
      expect(r.failures).toEqual([
        expect.objectContaining({ kind: "error", location: "tests/scenarios/t.scn:2", source: 'qmp blockdev-reopen {"options": []}' }),
      ]);
      expect(r.failures[0]!.message).toMatch(/^E_QEMU_CRASHED: QEMU died during 'blockdev-reopen' \(killed by signal SIGABRT\)/);
      expect(r.failures[0]!.message).toContain("Assertion `bs_queue != NULL' failed");
    }
  });
});

describe("an engine that does not end cleanly", () => {
  const QUIET = ['scenario "nothing much"', "qmp query-status", ""].join("\n");

  it("a QEMU that crashes at quit fails the scenario", async () => {
    const r = await run(QUIET, fakeQemu("crash-at-quit"));
    expect(r.status).toBe("fail");
    expect(r.transcript).toBe('scenario "nothing much"\n\nqmp query-status\n  ok\n(quit)\n  QEMU crashed: SIGABRT\n');
    expect(r.failures).toEqual([expect.objectContaining({ kind: "error", message: "QEMU crashed at quit (SIGABRT)" })]);
    expect(r.failures[0]!.details).toContain("bdrv_close_all: Assertion");
  });

  it("a QEMU that hangs at quit fails the scenario", async () => {
    const r = await run(QUIET, fakeQemu("ignore-quit", 300));
    expect(r.status).toBe("fail");
    expect(r.transcript).toBe('scenario "nothing much"\n\nqmp query-status\n  ok\n(quit)\n  QEMU hung at quit and was killed\n');
    expect(r.failures).toEqual([
      expect.objectContaining({ kind: "error", message: "QEMU hung at quit: it did not exit within 300 ms of 'quit' and was killed" }),
    ]);
  });

  it("a QEMU that quits cleanly passes", async () => {
    const r = await run(QUIET, fakeQemu("ok"));
    expect(r).toMatchObject({ status: "pass", failures: [] });
  });
});

describeWithQemu("a crash on real QEMU", () => {
  it("gives the model's transcript, and QEMU's own assertion in the failure", async () => {
    const r = await run(CRASHING, new QemuEngine());
    expect(r.transcript).toBe(CRASH_TRANSCRIPT);
    expect(r.failures[0]!.message).toContain("Assertion `bs_queue != NULL' failed");
  });
});
