/**
 * Bad input that makes QEMU 7.2 abort is reported as the crash it is, alike on the model (which
 * knows QEMU would abort) and on QEMU: a null-co with a negative size aborts in parse_option_size.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Engine } from "../../src/engines/engine.js";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { runOnEngine } from "../../src/runner/run-on-engine.js";
import { createScratch, removeScratch, type Scratch } from "../../src/runner/scratch.js";
import { describeWithQemu } from "../support/qemu.js";
import { scenario } from "./support/scenario.js";

const TEXT = ['scenario "a negative null-co size"', "add n0: null-co size=-1", "show graph", ""].join("\n");
const TRANSCRIPT = ['scenario "a negative null-co size"', "", "add n0: null-co size=-1", "  QEMU crashed: SIGABRT", "(run stopped)", ""].join("\n");

const scratches: Scratch[] = [];
afterEach(async () => {
  await Promise.all(scratches.splice(0).map(removeScratch));
});

async function run(engine: Engine) {
  const scratch = await createScratch();
  scratches.push(scratch);
  return runOnEngine(scenario(TEXT)[0]!, engine, scratch, { timeoutMs: 20_000 });
}

describe("a negative null-co size on the model", () => {
  it("is QEMU's abort: the transcript says it crashed, the failure carries QEMU's message", async () => {
    const r = await run(new ModelEngine());
    expect(r.transcript).toBe(TRANSCRIPT);
    expect(r.failures).toEqual([expect.objectContaining({ location: "tests/scenarios/t.scn:2" })]);
    expect(r.failures[0]!.message).toContain("Parameter 'size' expects a non-negative number below 2^64");
  });
});

describeWithQemu("a negative null-co size on qemu-storage-daemon", () => {
  it("gives the same transcript", async () => {
    const r = await run(new QemuEngine());
    expect(r.transcript).toBe(TRANSCRIPT);
    expect(r.failures[0]!.message).toContain("Unexpected error in parse_option_size()");
  });
});
