/** `unexport` waits for its own export's BLOCK_EXPORT_DELETED and leaves other exports' events queued. */
import { afterEach, describe, expect, it } from "vitest";
import type { Engine, QmpEvent } from "../../src/engines/engine.js";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { runOnEngine } from "../../src/runner/run-on-engine.js";
import { createScratch, removeScratch, type Scratch } from "../../src/runner/scratch.js";
import { describeWithQemu } from "../support/qemu.js";
import { scenario } from "./support/scenario.js";

const TEXT = [
  'scenario "two exports go"',
  "add n0: null-co",
  "export n0 id=e0",
  "export n0 id=e1 name=two",
  'qmp block-export-del {"id": "e1"}',
  "unexport e0",
  "",
].join("\n");

const scratches: Scratch[] = [];
afterEach(async () => {
  await Promise.all(scratches.splice(0).map(removeScratch));
});

/** Run TEXT and return what is left in the engine's event queue at the end. */
async function leftOver(engine: Engine): Promise<QmpEvent[]> {
  const scratch = await createScratch();
  scratches.push(scratch);
  let left: QmpEvent[] = [];
  const result = await runOnEngine(scenario(TEXT)[0]!, engine, scratch, {
    timeoutMs: 10_000,
    inspect: async (ctx) => {
      // What no step took: the run's event journal holds what the engine had queued.
      left = ctx.events.take(() => true);
    },
  });
  expect(result.failures).toEqual([]);
  return left;
}

describe("unexport on the model", () => {
  it("keeps the other export's event", async () => {
    expect((await leftOver(new ModelEngine())).map((e) => [e.event, e.data])).toEqual([["BLOCK_EXPORT_DELETED", { id: "e1" }]]);
  });
});

describeWithQemu("unexport on QEMU", () => {
  it("keeps the other export's event", async () => {
    expect((await leftOver(new QemuEngine())).map((e) => [e.event, e.data])).toEqual([["BLOCK_EXPORT_DELETED", { id: "e1" }]]);
  });
});
