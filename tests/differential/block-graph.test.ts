import { describe, expect, it } from "vitest";
import { BlockGraph, NodePathError } from "./block-graph.js";

// q0 (qcow2) -file-> #block010, -backing-> #block020 -file-> #block030; an export BB on q0;
// #block040 is kept alive only by a second export.
const graph = BlockGraph.from({
  nodes: [
    { id: 1, name: "", type: "block-backend" },
    { id: 2, name: "q0", type: "block-driver" },
    { id: 3, name: "#block010", type: "block-driver" },
    { id: 4, name: "#block020", type: "block-driver" },
    { id: 5, name: "#block030", type: "block-driver" },
    { id: 6, name: "", type: "block-backend" },
    { id: 7, name: "#block040", type: "block-driver" },
  ],
  edges: [
    { name: "root", parent: 1, child: 2, perm: [], "shared-perm": [] },
    { name: "file", parent: 2, child: 3, perm: [], "shared-perm": [] },
    { name: "backing", parent: 2, child: 4, perm: [], "shared-perm": [] },
    { name: "file", parent: 4, child: 5, perm: [], "shared-perm": [] },
    { name: "root", parent: 6, child: 7, perm: [], "shared-perm": [] },
  ],
});

describe("BlockGraph", () => {
  it("resolves paths from named nodes", () => {
    expect(graph.resolve("q0")).toBe("q0");
    expect(graph.resolve("q0/backing/file")).toBe("#block030");
  });

  it("names auto-named nodes by their shortest path", () => {
    expect(graph.pathOf("#block030")).toBe("q0/backing/file");
    expect(graph.pathOf("q0")).toBe("q0");
  });

  it("rejects paths that lead nowhere, naming the missing part", () => {
    expect(() => graph.resolve("q0/data-file")).toThrow(/node 'q0' has no 'data-file' child/);
    expect(() => graph.resolve("nosuch/file")).toThrow(NodePathError);
  });

  it("leaves out nodes only an export keeps alive", () => {
    expect(() => graph.pathOf("#block040")).toThrow(NodePathError);
    expect(graph.referableNames()).toEqual(["q0", "#block010", "#block020", "#block030"]);
  });

  it("finds a node reached through two edges below a node, the shape gen-reopen keeps links out of", () => {
    expect(graph.hasDiamondBelow("q0")).toBe(false);
    // cbw4 -file-> n, -target-> cbw0 -file-> n: n is reached twice below cbw4, not below cbw0.
    const cbw = BlockGraph.from({
      nodes: [
        { id: 1, name: "cbw0", type: "block-driver" },
        { id: 2, name: "n", type: "block-driver" },
        { id: 3, name: "cbw4", type: "block-driver" },
        { id: 4, name: "q", type: "block-driver" },
      ],
      edges: [
        { name: "file", parent: 1, child: 2, perm: [], "shared-perm": [] },
        { name: "file", parent: 3, child: 2, perm: [], "shared-perm": [] },
        { name: "target", parent: 3, child: 1, perm: [], "shared-perm": [] },
        // A qcow2 whose file is its backing: two edges from one parent.
        { name: "file", parent: 4, child: 2, perm: [], "shared-perm": [] },
        { name: "backing", parent: 4, child: 2, perm: [], "shared-perm": [] },
      ],
    });
    expect(cbw.hasDiamondBelow("cbw4")).toBe(true);
    expect(cbw.hasDiamondBelow("cbw0")).toBe(false);
    expect(cbw.hasDiamondBelow("q")).toBe(true);
  });

  it("finds descendants", () => {
    expect([...graph.descendants("q0")].sort()).toEqual(["#block010", "#block020", "#block030"]);
  });
});
