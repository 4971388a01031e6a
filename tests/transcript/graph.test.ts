import { describe, expect, it } from "vitest";
import { parseBlockGraph, resolveNodePath } from "../../src/graph-view/block-graph.js";
import { labelGraph } from "../../src/transcript/labels.js";
import { renderGraph } from "../../src/transcript/render-graph.js";
import { formatPerms, sortPerms } from "../../src/transcript/perms.js";
import { GraphReplyError } from "../../src/graph-view/errors.js";

// QEMU 7.2's x-debug-query-block-graph for: q0 (qcow2, implicit file and backing chain), r0 raw on f0,
// plus a writable export on q0 — ids, node order and descending perm order exactly as QEMU prints them.
const qemuReply = {
  edges: [
    { name: "file", parent: 6, "shared-perm": ["write-unchanged", "consistent-read"], perm: ["consistent-read"], child: 7 },
    { name: "file", parent: 5, "shared-perm": ["write-unchanged", "consistent-read"], perm: ["resize", "write", "consistent-read"], child: 4 },
    { name: "backing", parent: 5, "shared-perm": ["resize", "write-unchanged", "write", "consistent-read"], perm: ["consistent-read"], child: 6 },
    { name: "file", parent: 3, "shared-perm": ["resize", "write-unchanged", "write", "consistent-read"], perm: [], child: 2 },
    { name: "root", parent: 1, "shared-perm": ["write-unchanged", "write", "consistent-read"], perm: ["write", "consistent-read"], child: 5 },
  ],
  nodes: [
    { name: "#block213", type: "block-driver", id: 6 },
    { name: "#block199", type: "block-driver", id: 7 },
    { name: "q0", type: "block-driver", id: 5 },
    { name: "#block064", type: "block-driver", id: 4 },
    { name: "r0", type: "block-driver", id: 3 },
    { name: "f0", type: "block-driver", id: 2 },
    { name: "", type: "block-backend", id: 1 },
    { name: "lonely", type: "block-driver", id: 8 },
  ],
};

describe("perms", () => {
  it("orders permissions by QEMU's bit order whatever order they come in", () => {
    expect(sortPerms(["resize", "write-unchanged", "write", "consistent-read"])).toEqual([
      "consistent-read",
      "write",
      "write-unchanged",
      "resize",
    ]);
    expect(formatPerms([])).toBe("[]");
  });
});

describe("graph labels", () => {
  const graph = parseBlockGraph(qemuReply);
  const labels = labelGraph(graph, [{ id: "e0", nodeName: "q0" }]);

  it("names implicit nodes by their path from a named node and exports by id", () => {
    expect(labels.get(4)).toBe("q0/file");
    expect(labels.get(6)).toBe("q0/backing");
    expect(labels.get(7)).toBe("q0/backing/file");
    expect(labels.get(1)).toBe("export e0");
  });

  it("does not depend on QEMU's ids or node order", () => {
    // Same graph with ids permuted and lists reversed (as another engine might produce it).
    const perm = (id: number) => 9 - id;
    const shuffled = {
      nodes: [...qemuReply.nodes].reverse().map((n) => ({ ...n, id: perm(n.id), name: n.name.replace(/#block\d+/, "#block9$&") })),
      edges: [...qemuReply.edges].reverse().map((e) => ({ ...e, parent: perm(e.parent), child: perm(e.child), perm: [...e.perm].reverse() })),
    };
    const g2 = parseBlockGraph(shuffled);
    expect(renderGraph(g2, labelGraph(g2, [{ id: "e0", nodeName: "q0" }]))).toEqual(renderGraph(graph, labels));
  });

  it("prefers the shortest path, then the smallest name", () => {
    const g = parseBlockGraph({
      nodes: [
        { id: 1, type: "block-driver", name: "b" },
        { id: 2, type: "block-driver", name: "a" },
        { id: 3, type: "block-driver", name: "#block1" },
        { id: 4, type: "block-driver", name: "#block2" },
      ],
      edges: [
        { parent: 1, child: 3, name: "file", perm: [], "shared-perm": [] },
        { parent: 2, child: 3, name: "image", perm: [], "shared-perm": [] },
        { parent: 3, child: 4, name: "file", perm: [], "shared-perm": [] },
        { parent: 1, child: 4, name: "backing", perm: [], "shared-perm": [] },
      ],
    });
    const l = labelGraph(g);
    expect(l.get(3)).toBe("a/image");
    expect(l.get(4)).toBe("b/backing");
  });

  it("resolves node paths through child edge names", () => {
    expect(resolveNodePath(graph, "q0", ["backing", "file"])?.id).toBe(7);
    expect(resolveNodePath(graph, "q0", ["nosuch"])).toBeUndefined();
    expect(resolveNodePath(graph, "nosuch", [])).toBeUndefined();
  });
});

describe("show graph", () => {
  it("renders aligned, sorted edges with perms in bit order, exports after nodes, lonely nodes last", () => {
    const graph = parseBlockGraph(qemuReply);
    expect(renderGraph(graph, labelGraph(graph, [{ id: "e0", nodeName: "q0" }])).join("\n")).toBe(
      [
        "q0 -backing-> q0/backing            perm=[consistent-read]  shared=[consistent-read, write, write-unchanged, resize]",
        "q0 -file-> q0/file                  perm=[consistent-read, write, resize]  shared=[consistent-read, write-unchanged]",
        "q0/backing -file-> q0/backing/file  perm=[consistent-read]  shared=[consistent-read, write-unchanged]",
        "r0 -file-> f0                       perm=[]  shared=[consistent-read, write, write-unchanged, resize]",
        "export e0 -root-> q0                perm=[consistent-read, write]  shared=[consistent-read, write, write-unchanged]",
        "lonely (no edges)",
      ].join("\n"),
    );
  });

  it("rejects a reply that is not a block graph with a typed error", () => {
    expect(() => parseBlockGraph({ nodes: [] })).toThrow(GraphReplyError);
    expect(() => parseBlockGraph({ nodes: [], edges: [{ parent: 1 }] })).toThrow(/malformed edge/);
  });
});
