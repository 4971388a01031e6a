/** Labels in a graph with a job: its BlockBackends are not taken for exports on the same node. */
import { describe, expect, it } from "vitest";
import { parseBlockGraph } from "../../src/graph-view/block-graph.js";
import { labelGraph } from "../../src/transcript/labels.js";
import { renderGraph } from "../../src/transcript/render-graph.js";

// From QEMU 7.2: a commit job j0 (act -> mid -> base, top-node=mid) held at pending, then an export
// e1 of base. The job's BlockBackend on base was created first, so it comes first.
const reply = {
  nodes: [
    { id: 1, type: "block-backend", name: "" },
    { id: 2, type: "block-driver", name: "base" },
    { id: 3, type: "block-backend", name: "" },
    { id: 4, type: "block-job", name: "j0" },
    { id: 5, type: "block-driver", name: "act" },
  ],
  edges: [
    { parent: 1, child: 2, name: "root", perm: ["write", "consistent-read"], "shared-perm": ["write-unchanged", "consistent-read"] },
    { parent: 3, child: 2, name: "root", perm: ["consistent-read"], "shared-perm": ["write-unchanged", "write", "consistent-read"] },
    { parent: 4, child: 2, name: "base", perm: [], "shared-perm": ["resize", "write-unchanged", "write", "consistent-read"] },
    { parent: 4, child: 5, name: "main node", perm: [], "shared-perm": ["resize", "write-unchanged", "write", "consistent-read"] },
  ],
};

describe("labels with a job's BlockBackends", () => {
  it("names the export by its node and its permissions, the job's BlockBackend unnamed", () => {
    const graph = parseBlockGraph(reply);
    expect(renderGraph(graph, labelGraph(graph, [{ id: "e1", nodeName: "base" }]))).toEqual([
      "export e1 -root-> base   perm=[consistent-read]  shared=[consistent-read, write, write-unchanged]",
      "unnamed BB -root-> base  perm=[consistent-read, write]  shared=[consistent-read, write-unchanged]",
      "job j0 -base-> base      perm=[]  shared=[consistent-read, write, write-unchanged, resize]",
      "job j0 -main node-> act  perm=[]  shared=[consistent-read, write, write-unchanged, resize]",
    ]);
  });
});
