/**
 * Generated scenarios as text: every statement form the generator writes loads as the language
 * reads it, and the runner's failures map back to the statement (or graph line) they are about, to
 * become that statement's expectation.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { FuzzScratch } from "../../src/fuzz/fuzz-scratch.js";
import { outcomesFrom } from "../../src/fuzz/outcomes.js";
import { quoteMessage, renderScenario } from "../../src/fuzz/render.js";
import { runScenarioText } from "../../src/fuzz/run-case.js";
import type { FuzzScenario } from "../../src/fuzz/scenario-ir.js";
import { loadScenario } from "../../src/language/index.js";

let scratch: FuzzScratch;
beforeAll(async () => {
  scratch = await FuzzScratch.create();
});
afterAll(async () => {
  await scratch.close();
});

const w = (text: string) => ({ kind: "word" as const, text });

const scenario: FuzzScenario = {
  seed: 0,
  statements: [
    { kind: "require", feature: "io" },
    { kind: "image", path: "base.qcow2", format: "qcow2", size: "1M" },
    { kind: "image", path: "top.qcow2", format: "qcow2", size: "1M", backing: "base.qcow2" },
    { kind: "throttle-group", id: "tg0" },
    { kind: "add", node: { name: "n0", driver: "null-co", options: [] } },
    {
      kind: "graph",
      nodes: [
        { name: "q0", driver: "qcow2", options: [{ key: "file", value: w("n0") }] },
        { name: "d0", driver: "blkdebug", options: [{ key: "image", value: w("n0") }, { key: "take-child-perms", value: { kind: "list", items: ["resize"] } }] },
      ],
    },
    { kind: "reopen", raw: false, block: true, entries: [{ node: "n0", options: [{ key: "read-only", value: { kind: "bool", value: true } }] }] },
    { kind: "reopen", raw: true, block: false, entries: [{ node: "d0", options: [{ key: "driver", value: w("blkdebug") }] }] },
    { kind: "export", node: "n0", writable: true, id: "e0" },
    { kind: "unexport", id: "e0" },
    { kind: "io", node: "n0", command: "write -P 0xa5 0 4k" },
    { kind: "io", node: "d0", command: "read -P 0 0 4k" },
    { kind: "del", node: "d0" },
    { kind: "iothread", id: "io0" },
    { kind: "export", node: "n0", writable: false, id: "e1", iothread: "io0", fixed: true },
    { kind: "set-iothread", node: "n0", iothread: null, force: true },
    { kind: "unexport", id: "e1" },
    { kind: "iothread-del", id: "io0" },
    { kind: "show", what: "nodes" },
  ],
};

describe("rendering a generated scenario", () => {
  it("writes every statement form the language reads", () => {
    const r = renderScenario(scenario, { title: "forms", tags: ["fuzz"], comments: ["how it was found"] });
    expect(r.text.split("\n").slice(0, 4)).toEqual(["# how it was found", 'scenario "forms"', "tags fuzz", ""]);
    expect(loadScenario(r.text, "forms.scn").diagnostics).toEqual([]);
    expect(r.lines.map((l) => l.start)).toEqual([5, 6, 7, 8, 9, 10, 14, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28]);
    expect(r.lines[5]!.nodes).toEqual([11, 12]);
    expect(r.text).toContain(`\nio d0 "read -P 0 0 4k"\ndel d0\niothread io0\nexport n0 id=e1 iothread=io0 fixed-iothread=on\n`);
    expect(r.text).toContain(`\nqmp x-blockdev-set-iothread {"node-name": "n0", "iothread": null, "force": true}\n`);
    expect(r.text).toContain(`\nqmp object-del {"id": "io0"}\n`);
  });

  it("quotes messages so that a $ is not a parameter", () => {
    expect(quoteMessage(`Could not open '$TEST_DIR/x': No such file`)).toBe(`"Could not open '$TEST_DIR/x': No such file"`);
    expect(quoteMessage("costs $5 \"now\"")).toBe(`"costs $$5 \\"now\\""`);
  });

  it("turns the model's failures into expectations that then hold", async () => {
    const plain = renderScenario(scenario, { title: "forms", tags: [] });
    const first = await runScenarioText(plain.text, "model", () => new ModelEngine(), { timeoutMs: 10_000, scratch });
    const outcomes = outcomesFrom(first.failures, plain.lines);
    expect(outcomes[5]).toEqual({ kind: "graph", errors: ["Image is not in qcow2 format", undefined] });
    expect(outcomes[4]).toEqual({ kind: "ok" });
    // The write to the node made read-only above, and the move a fixed export refuses.
    expect(outcomes[10]).toEqual({ kind: "error", desc: "Block node is read-only" });
    expect(outcomes[15]).toEqual({ kind: "error", desc: "Cannot change iothread of active block backend" });
    expect(outcomes.slice(12).filter((o) => o.kind !== "ok")).toHaveLength(1);
    expect(outcomes.filter((o) => o.kind === "error").length).toBeGreaterThan(0);
    const annotated = renderScenario(scenario, { title: "forms", tags: [], outcomes });
    expect(annotated.text).toContain(`  q0: qcow2 file=n0 -> error "Image is not in qcow2 format"\n`);
    const again = await runScenarioText(annotated.text, "model", () => new ModelEngine(), { timeoutMs: 10_000, scratch });
    expect(again.failures).toEqual([]);
  });

  it("writes block jobs, the waits that hold them and the verbs that end them", async () => {
    const file = (filename: string) => ({ key: "file", value: { kind: "child" as const, driver: "file", options: [{ key: "filename", value: w(filename) }] } });
    const off = { kind: "bool" as const, value: false };
    const jobs: FuzzScenario = {
      seed: 0,
      statements: [
        { kind: "require", feature: "jobs" },
        { kind: "image", path: "b.qcow2", format: "qcow2", size: "1M" },
        { kind: "image", path: "t.qcow2", format: "qcow2", size: "1M" },
        { kind: "graph", nodes: [{ name: "b", driver: "qcow2", options: [file("b.qcow2")] }, { name: "t", driver: "qcow2", options: [file("t.qcow2"), { key: "backing", value: w("b") }] }] },
        { kind: "add", node: { name: "n0", driver: "null-co", options: [{ key: "size", value: { kind: "number", value: 1048576 } }] } },
        { kind: "job", type: "commit", id: "j0", node: "t", options: [{ key: "filter-node-name", value: w("f0") }, { key: "auto-dismiss", value: off }] },
        { kind: "wait", id: "j0", status: "ready" },
        { kind: "job-verb", verb: "cancel", id: "j0", force: true },
        { kind: "wait", id: "j0", status: "concluded" },
        { kind: "job-verb", verb: "dismiss", id: "j0" },
        { kind: "job", type: "stream", id: "j1", node: "t", options: [{ key: "auto-finalize", value: off }] },
        { kind: "wait", id: "j1", status: "pending" },
        { kind: "job-verb", verb: "finalize", id: "j1" },
        { kind: "wait", id: "j1", status: "null" },
        { kind: "job", type: "backup", id: "j2", node: "t", options: [{ key: "target", value: w("n0") }, { key: "sync", value: w("none") }] },
        { kind: "job-verb", verb: "cancel", id: "j2" },
        { kind: "wait", id: "j2", status: "null" },
        { kind: "show", what: "graph" },
      ],
    };
    const r = renderScenario(jobs, { title: "jobs", tags: [] });
    expect(loadScenario(r.text, "jobs.scn").diagnostics).toEqual([]);
    expect(r.text).toContain("\njob commit j0 t filter-node-name=f0 auto-dismiss=off\nwait j0 ready\njob cancel j0 force=on\nwait j0 concluded\njob dismiss j0\n");
    expect(r.text).toContain("\njob backup j2 t target=n0 sync=none\n");
    const run = await runScenarioText(r.text, "model", () => new ModelEngine(), { timeoutMs: 10_000, scratch });
    expect(run.failures).toEqual([]);
  });

  it("writes node commands as qmp statements, their arguments spaced as the corpus spaces them", async () => {
    const commands: FuzzScenario = {
      seed: 0,
      statements: [
        { kind: "add", node: { name: "n0", driver: "null-co", options: [] } },
        { kind: "qmp", command: "block-dirty-bitmap-add", args: { node: "n0", name: "bm0", granularity: 1000 } },
        { kind: "qmp", command: "transaction", args: { actions: [{ type: "block-dirty-bitmap-add", data: { node: "n0", name: "bm1" } }] } },
        { kind: "qmp", command: "blockdev-snapshot-sync", args: { "node-name": "n0", "snapshot-file": "$TEST_DIR/sn2.qcow2", "snapshot-node-name": "sn2" } },
        { kind: "show-node", node: "n0", keys: ["dirty-bitmaps"] },
      ],
    };
    const plain = renderScenario(commands, { title: "commands", tags: [] });
    expect(loadScenario(plain.text, "commands.scn").diagnostics).toEqual([]);
    expect(plain.text).toContain(`\nqmp transaction {"actions": [{"type": "block-dirty-bitmap-add", "data": {"node": "n0", "name": "bm1"}}]}\n`);
    expect(plain.text).toContain(`\nshow node n0 dirty-bitmaps\n`);
    const first = await runScenarioText(plain.text, "model", () => new ModelEngine(), { timeoutMs: 10_000, scratch });
    const outcomes = outcomesFrom(first.failures, plain.lines);
    expect(outcomes[1]).toEqual({ kind: "error", desc: "Granularity must be power of 2 and at least 512" });
    expect(outcomes.slice(2, 4)).toEqual([{ kind: "ok" }, { kind: "ok" }]);
    const annotated = renderScenario(commands, { title: "commands", tags: [], outcomes });
    expect(annotated.text).toContain(`"granularity": 1000} -> error "Granularity must be power of 2 and at least 512"\n`);
    expect((await runScenarioText(annotated.text, "model", () => new ModelEngine(), { timeoutMs: 10_000, scratch })).failures).toEqual([]);
  });
});
