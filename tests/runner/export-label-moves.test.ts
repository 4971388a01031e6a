/**
 * An export is labelled by the node it sits on now: a mirror's completion moves the export's
 * BlockBackend from the source to the target, and `expect edge export ID` and `show graph` follow it
 * (they used to lose it: `node 'export e0' does not exist`, and `unnamed BB` in the graph).
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Engine } from "../../src/engines/engine.js";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { runOnEngine } from "../../src/runner/run-on-engine.js";
import { createScratch, removeScratch, type Scratch } from "../../src/runner/scratch.js";
import { describeWithQemu } from "../support/qemu.js";
import { scenario } from "./support/scenario.js";

const TEXT = [
  'scenario "the export follows the mirror"',
  "require jobs",
  "image src.img qcow2 1M",
  "image dst.img qcow2 1M",
  "add src: qcow2 file=(file filename=src.img)",
  "add dst: qcow2 file=(file filename=dst.img)",
  "export src writable id=e0",
  "job mirror m0 src target=dst sync=full",
  "wait m0 ready",
  "show graph",
  "job complete m0",
  "wait m0 null",
  "show graph",
  "expect edge export e0 -root-> dst perm=consistent-read,write",
  "",
].join("\n");

const scratches: Scratch[] = [];
afterEach(async () => {
  await Promise.all(scratches.splice(0).map(removeScratch));
});

async function transcript(engine: Engine): Promise<string> {
  const scratch = await createScratch();
  scratches.push(scratch);
  const result = await runOnEngine(scenario(TEXT)[0]!, engine, scratch, { timeoutMs: 10_000 });
  expect(result.failures).toEqual([]);
  return result.transcript ?? "";
}

function exportLines(text: string): string[] {
  return text.split("\n").filter((l) => l.startsWith("  export e0 "));
}

const EXPECTED = [
  // while the job runs, the export is above the job's filter, which is the job's node
  "  export e0 -root-> job m0/main node    perm=[consistent-read, write]  shared=[consistent-read, write, write-unchanged]",
  "  export e0 -root-> dst  perm=[consistent-read, write]  shared=[consistent-read, write, write-unchanged]",
];

describe("an export that a mirror moved, on the model", () => {
  it("keeps its label", async () => {
    expect(exportLines(await transcript(new ModelEngine()))).toEqual(EXPECTED);
  });
});

describeWithQemu("an export that a mirror moved, on QEMU", () => {
  it("keeps its label", async () => {
    expect(exportLines(await transcript(new QemuEngine()))).toEqual(EXPECTED);
  });
});
