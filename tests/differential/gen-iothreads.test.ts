/**
 * The generator's iothread guard: once a node was sent to an iothread, commands that would attach
 * it (or anything connected to it) elsewhere are replaced by a move back to the main loop, since
 * QEMU 7.2 crashes on some of them; other commands pass.
 */
import { describe, expect, it } from "vitest";
import { BlockGraph } from "./block-graph.js";
import { IothreadGuard } from "./gen-iothreads.js";
import type { LiveView } from "./gen-state.js";
import { qmp, type Json, type RecordedQmpStep } from "./steps.js";

/** top -file-> f0, and a separate node n1. */
const view: LiveView = {
  graph: BlockGraph.from({
    nodes: [
      { id: 1, name: "top", type: "block-driver" },
      { id: 2, name: "f0", type: "block-driver" },
      { id: 3, name: "n1", type: "block-driver" },
    ],
    edges: [{ parent: 1, child: 2, name: "file", perm: [], "shared-perm": [] }],
  }),
  nodes: [],
  jobs: [],
};

function ran(execute: string, args: { [key: string]: Json }, ok = true): RecordedQmpStep {
  return { kind: "qmp", execute, arguments: args, reply: ok ? { return: {} } : { error: { class: "GenericError", desc: "x" } }, events: [] };
}

describe("IothreadGuard", () => {
  it("passes everything while no node was sent to an iothread", () => {
    const guard = new IothreadGuard();
    const add = qmp("blockdev-add", { driver: "raw", "node-name": "r", file: "f0" });
    expect(guard.replace(add, view)).toBe(add);
  });

  it("sends home the part of the graph a command would attach, and lets the rest through", () => {
    const guard = new IothreadGuard();
    guard.observe(ran("x-blockdev-set-iothread", { "node-name": "top", iothread: "io0" }), view);
    const overFile = qmp("blockdev-add", { driver: "raw", "node-name": "r", file: "f0" });
    // Any node of the part moves all of it.
    expect(guard.replace(overFile, view)).toEqual(qmp("x-blockdev-set-iothread", { "node-name": expect.stringMatching(/^(top|f0)$/), iothread: null, force: true }));
    const overOther = qmp("blockdev-add", { driver: "raw", "node-name": "r", file: "n1" });
    expect(guard.replace(overOther, view)).toBe(overOther);
    const query = qmp("query-named-block-nodes", { flat: true });
    expect(guard.replace(query, view)).toBe(query);
  });

  it("forgets a part of the graph that went home, and queries instead where going home was refused", () => {
    const guard = new IothreadGuard();
    guard.observe(ran("x-blockdev-set-iothread", { "node-name": "f0", iothread: "io0" }), view);
    const reopen = qmp("blockdev-reopen", { options: [{ driver: "raw", "node-name": "top", file: "f0" }] });
    guard.observe(ran("x-blockdev-set-iothread", { "node-name": "top", iothread: null, force: true }, false), view);
    guard.observe(ran("x-blockdev-set-iothread", { "node-name": "f0", iothread: null, force: true }, false), view);
    expect(guard.replace(reopen, view)).toEqual(qmp("x-debug-query-block-graph"));
    guard.observe(ran("x-blockdev-set-iothread", { "node-name": "f0", iothread: null, force: true }), view);
    expect(guard.replace(reopen, view)).toBe(reopen);
  });
});
