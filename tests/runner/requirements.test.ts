/**
 * Requirements: one registry for the checker and the runner; the features a scenario needs are what
 * the engine is started with, and what it lacks skips the scenario.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ENGINE_FEATURES, type EngineInfo } from "../../src/engines/engine.js";
import { REQUIREMENTS } from "../../src/language/rules/requirements.js";
import { validateScenario } from "../../src/language/validate.js";
import { neededFeatures, unmetRequirement } from "../../src/runner/requirements.js";
import { runOnEngine } from "../../src/runner/run-on-engine.js";
import { createScratch, removeScratch, type Scratch } from "../../src/runner/scratch.js";
import { FakeEngine } from "./support/fake-engine.js";
import { scenario } from "./support/scenario.js";

const MODEL: EngineInfo = { kind: "model", version: { major: 7, minor: 2, micro: 22 }, drivers: ["file", "qcow2"], features: new Set(), greeting: {} };
const QEMU_IO: EngineInfo = { ...MODEL, kind: "qemu", features: new Set(["io"]) };

const scratches: Scratch[] = [];
afterEach(async () => {
  await Promise.all(scratches.splice(0).map(removeScratch));
});

function reasonOn(info: EngineInfo, lines: string[]): string | undefined {
  return unmetRequirement(scenario(['scenario "t"', ...lines, ""].join("\n"))[0]!.scenario, info, { allowUnsafe: false });
}

describe("the requirement registry", () => {
  it("makes every engine feature a requirement", () => {
    for (const feature of Object.keys(ENGINE_FEATURES)) expect(REQUIREMENTS[feature]).toMatchObject({ usage: `require ${feature}`, feature });
  });

  it("gives the runner its skip reasons", () => {
    expect(reasonOn(MODEL, ["require io"])).toBe("requires io; the model engine has no qemu-io");
    expect(reasonOn(QEMU_IO, ["require io"])).toBeUndefined();
    expect(reasonOn(MODEL, ["require engine qemu"])).toBe("requires engine qemu");
    expect(reasonOn(MODEL, ["require driver qcow2 blkdebug"])).toBe("requires driver blkdebug; the model engine does not have it");
    expect(reasonOn(MODEL, ["require qemu >= 7.2"])).toBeUndefined();
    expect(reasonOn(MODEL, ["require qemu < 7.2.22"])).toBe("requires qemu < 7.2.22; the model engine is 7.2.22");
    expect(reasonOn(MODEL, ["require qemu >= 8"])).toBe("requires qemu >= 8; the model engine is 7.2.22");
  });

  it("holds the runner to what the checker accepts: a malformed requirement is an error, not a skip or a pass", async () => {
    const text = 'scenario "t"\nrequire qemu 7.2\nqmp query-status\n';
    const [inst] = scenario(text, { validate: false });
    expect(validateScenario(inst!.scenario).map((d) => d.message)).toEqual([
      "'require qemu' takes an operator and a version, e.g. 'require qemu >= 7.2'",
    ]);
    const scratch = await createScratch();
    scratches.push(scratch);
    const engine = new FakeEngine();
    const result = await runOnEngine(inst!, engine, scratch, { timeoutMs: 5_000 });
    expect(result.failures).toEqual([
      expect.objectContaining({ kind: "error", message: "E_STEP: 'require qemu' takes an operator and a version, e.g. 'require qemu >= 7.2'" }),
    ]);
    expect(engine.sent).toEqual([]);
  });
});

describe("features at start", () => {
  async function started(text: string, validate = true): Promise<FakeEngine> {
    const scratch = await createScratch();
    scratches.push(scratch);
    const engine = new FakeEngine("qemu", { io: true });
    await runOnEngine(scenario(text, { validate })[0]!, engine, scratch, { timeoutMs: 5_000 });
    return engine;
  }

  it("starts the engine with the features the scenario asks for or uses", async () => {
    expect([...(await started('scenario "t"\nrequire io\n')).startOptions!.features!]).toEqual(["io"]);
    expect([...(await started('scenario "t"\nadd n0: null-co\nio n0 "read 0 512"\n', false)).startOptions!.features!]).toEqual(["io"]);
    expect([...(await started('scenario "t"\nadd n0: null-co\n')).startOptions!.features!]).toEqual([]);
    expect([...(await started('scenario "t"\nadd n0: null-co\njob stream s0 n0\n', false)).startOptions!.features!]).toEqual(["jobs"]);
  });

  it("skips a scenario with jobs on an engine without them, saying why", async () => {
    const scratch = await createScratch();
    scratches.push(scratch);
    const run = await runOnEngine(scenario('scenario "t"\nrequire jobs\nadd n0: null-co\n')[0]!, new FakeEngine(), scratch, { timeoutMs: 5_000 });
    expect([run.status, run.skipReason]).toEqual(["skip", "requires jobs; the model engine has no block jobs"]);
  });

  it("derives them from the same registry", () => {
    const [inst] = scenario('scenario "t"\nrequire io\nrequire qemu >= 7.2\n');
    expect(neededFeatures(inst!.scenario)).toEqual(new Set(["io"]));
  });
});
