/**
 * Shrinking: delta debugging over statements and then over each statement's parts, driven through
 * the real fuzz pipeline (runner, classification) on the model and on a "QEMU" that crashes on one
 * marker statement. Whatever else the scenario holds, what is left is the marker alone.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EngineKind } from "../../src/engines/engine.js";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { checkScenario, type CheckOptions } from "../../src/fuzz/check-case.js";
import { sameFailure } from "../../src/fuzz/classify.js";
import { ddmin } from "../../src/fuzz/ddmin.js";
import { FuzzScratch } from "../../src/fuzz/fuzz-scratch.js";
import { repairScenario } from "../../src/fuzz/repair.js";
import type { FuzzScenario, FuzzStatement } from "../../src/fuzz/scenario-ir.js";
import { shrinkScenario } from "../../src/fuzz/shrink.js";
import { crashingEngine } from "./support/crashing-engine.js";

let scratch: FuzzScratch;
beforeAll(async () => {
  scratch = await FuzzScratch.create();
});
afterAll(async () => {
  await scratch.close();
});

const word = (text: string) => ({ kind: "word" as const, text });
const on = { kind: "bool" as const, value: true };

/** A scenario of every statement kind, with the marker (an add of node `marker`) in the middle. */
const scenario: FuzzScenario = {
  seed: 1,
  statements: [
    { kind: "image", path: "a.qcow2", format: "qcow2", size: "1M" },
    { kind: "throttle-group", id: "tg0" },
    { kind: "add", node: { name: "f0", driver: "file", options: [{ key: "filename", value: word("a.qcow2") }] } },
    { kind: "add", node: { name: "q0", driver: "qcow2", options: [{ key: "file", value: word("f0") }] } },
    {
      kind: "graph",
      nodes: [
        { name: "n0", driver: "null-co", options: [] },
        { name: "t0", driver: "throttle", options: [{ key: "throttle-group", value: word("tg0") }, { key: "file", value: { kind: "child", driver: "null-co", options: [] } }] },
      ],
    },
    { kind: "reopen", raw: false, block: true, entries: [{ node: "q0", options: [{ key: "read-only", value: on }] }, { node: "f0", options: [{ key: "read-only", value: on }] }] },
    {
      kind: "add",
      node: { name: "marker", driver: "raw", options: [{ key: "file", value: { kind: "child", driver: "null-co", options: [{ key: "read-only", value: on }] } }, { key: "read-only", value: on }] },
    },
    { kind: "export", node: "q0", writable: false, id: "e0" },
    { kind: "unexport", id: "e0" },
    { kind: "del", node: "t0" },
    { kind: "show", what: "graph" },
  ],
};

describe("shrinking", () => {
  it("cuts a scenario whose QEMU crashes on a marker statement down to the marker", async () => {
    const isMarker = (command: string, args?: Record<string, unknown>) => command === "blockdev-add" && args?.["node-name"] === "marker";
    const check: CheckOptions = {
      engines: ["model", "qemu"],
      makeEngine: (kind: EngineKind) => (kind === "model" ? new ModelEngine() : crashingEngine(isMarker)),
      timeoutMs: 10_000,
      siteOf: () => undefined,
      scratch,
    };
    const first = await checkScenario(scenario, check);
    expect(first.verdict).toMatchObject({ kind: "finding", cls: "qemu-crash", summary: "SIGSEGV in blockdev-add" });
    if (first.verdict.kind !== "finding") return;
    const target = first.verdict;

    const shrunk = await shrinkScenario(scenario, {
      test: async (c) => sameFailure(target, (await checkScenario(c, check)).verdict),
      repair: repairScenario,
      budget: 200,
    });
    const expected: FuzzStatement = { kind: "add", node: { name: "marker", driver: "null-co", options: [] } };
    expect(shrunk.scenario.statements).toEqual([expected]);
    expect(shrunk.runs).toBeLessThan(200);
  });

  it("stops at its budget with what it has", async () => {
    let runs = 0;
    const shrunk = await shrinkScenario(scenario, {
      test: async () => (runs++, true),
      repair: (c) => c,
      budget: 3,
    });
    expect(runs).toBe(3);
    expect(shrunk.runs).toBe(3);
    expect(shrunk.scenario.statements.length).toBeLessThan(scenario.statements.length);
  });

  it("ddmin finds a 1-minimal subset, the same at any parallelism", async () => {
    const items = Array.from({ length: 40 }, (_, i) => i);
    const test = async (xs: readonly number[]) => [3, 17, 29].every((x) => xs.includes(x));
    expect(await ddmin(items, { test })).toEqual([3, 17, 29]);
    expect(await ddmin(items, { test, parallel: 4 })).toEqual([3, 17, 29]);
  });
});
