import { describe, expect, it } from "vitest";
import { firstDifference, formatDifference } from "./compare.js";
import { normalizeRun } from "./normalize.js";
import type { RecordedStep } from "./steps.js";

function graph(auto: string[]): RecordedStep {
  return {
    kind: "qmp",
    execute: "x-debug-query-block-graph",
    reply: {
      return: {
        nodes: [
          { id: 2, name: auto[0], type: "block-driver" },
          { id: 1, name: "r0", type: "block-driver" },
          { id: 3, name: "", type: "block-backend" },
        ],
        edges: [
          { name: "file", parent: 1, child: 2, perm: ["consistent-read"], "shared-perm": ["write-unchanged", "consistent-read"] },
          { name: "root", parent: 3, child: 1, perm: [], "shared-perm": ["resize"] },
        ],
      },
    },
    events: [],
  };
}

function del(name: string, desc: string): RecordedStep {
  return { kind: "qmp", execute: "blockdev-del", arguments: { "node-name": name }, reply: { error: { class: "GenericError", desc } }, events: [] };
}

describe("normalizeRun", () => {
  it("labels auto names by first appearance and renders graph edges by name", () => {
    const lines = normalizeRun([graph(["#block123"]), del("#block123", "Node #block123 is not owned by the monitor")]);
    expect(lines).toEqual([
      [
        "-> x-debug-query-block-graph",
        "<- graph",
        "   node 2 #auto1",
        "   node 1 r0",
        "   node 3 block-backend(#3)",
        "   edge r0 -[file]-> #auto1 perm=consistent-read shared=write-unchanged,consistent-read",
        "   edge block-backend(#3) -[root]-> r0 perm= shared=resize",
      ],
      ['-> blockdev-del {"node-name":"#auto1"}', "<- error GenericError: Node #auto1 is not owned by the monitor"],
    ]);
  });

  it("leaves user names that merely look like auto names alone", () => {
    const [lines] = normalizeRun([del("#block1", "Invalid node-name: '#block1'")]);
    expect(lines![1]).toBe("<- error GenericError: Invalid node-name: '#block1'");
  });
});

describe("firstDifference", () => {
  it("accepts runs that differ only in QEMU's random auto names", () => {
    const a = [graph(["#block025"]), del("#block025", "Node #block025 is not owned by the monitor")];
    const b = [graph(["#block007"]), del("#block007", "Node #block007 is not owned by the monitor")];
    expect(firstDifference(a, b)).toBeUndefined();
  });

  it("reports the first step whose reply differs, with both sides", () => {
    const a = [graph(["#block025"]), del("f0", "Block device f0 is in use")];
    const b = [graph(["#block007"]), del("f0", "Node f0 is in use")];
    const d = firstDifference(a, b);
    expect(d?.step).toBe(1);
    expect(formatDifference(d!)).toContain("+++ model\n-> blockdev-del");
    expect(formatDifference(d!)).toContain("Node f0 is in use");
  });

  it("reports a run that stops early", () => {
    expect(firstDifference([graph(["#block025"])], [])?.actual).toEqual(["(no step)"]);
  });
});
