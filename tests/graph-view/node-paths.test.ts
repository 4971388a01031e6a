import { describe, expect, it } from "vitest";
import { parseBlockGraph, resolveNodePath, walkNodePath } from "../../src/graph-view/block-graph.js";
import { GraphReplyError } from "../../src/graph-view/errors.js";
import { parseNamedNodes } from "../../src/graph-view/named-nodes.js";
import { extendPaths, pathsFromNamedNodes, splitNodePath } from "../../src/graph-view/node-paths.js";

const edge = (parent: number, child: number, name: string) => ({ parent, child, name, perm: [], "shared-perm": [] });

describe("node paths", () => {
  it("name a node reachable two ways by its shortest path, then the smallest, whatever the output order", () => {
    // #block200 is b/file and a/image; b's edge comes first in the output, yet a/image wins.
    const graph = parseBlockGraph({
      nodes: [
        { id: 1, type: "block-driver", name: "b" },
        { id: 2, type: "block-driver", name: "a" },
        { id: 3, type: "block-driver", name: "#block200" },
        { id: 4, type: "block-driver", name: "#block300" },
      ],
      edges: [edge(1, 3, "file"), edge(2, 3, "image"), edge(3, 4, "file"), edge(1, 4, "backing")],
    });
    const paths = pathsFromNamedNodes(graph);
    expect(paths.get(3)).toBe("a/image");
    expect(paths.get(4)).toBe("b/backing");
    expect(paths.get(1)).toBe("b");
  });

  it("go through auto-named nodes only: a named node on the way starts the path again", () => {
    const graph = parseBlockGraph({
      nodes: [
        { id: 1, type: "block-driver", name: "top" },
        { id: 2, type: "block-driver", name: "mid" },
        { id: 3, type: "block-driver", name: "#block400" },
      ],
      edges: [edge(1, 2, "backing"), edge(2, 3, "file")],
    });
    expect(pathsFromNamedNodes(graph).get(3)).toBe("mid/file");
  });

  it("leave out nodes only a BlockBackend reaches, until a caller extends from it", () => {
    const graph = parseBlockGraph({
      nodes: [
        { id: 1, type: "block-backend", name: "" },
        { id: 2, type: "block-driver", name: "#block500" },
        { id: 3, type: "block-driver", name: "#block600" },
      ],
      edges: [edge(1, 2, "root"), edge(2, 3, "file")],
    });
    const paths = pathsFromNamedNodes(graph);
    expect(paths.size).toBe(0);
    paths.set(1, "export e0");
    extendPaths(graph, paths, [1]);
    expect(paths.get(3)).toBe("export e0/root/file");
  });

  it("split into a root and child edges, and walk as far as the graph goes", () => {
    expect(splitNodePath("q0/backing/file")).toEqual({ root: "q0", edges: ["backing", "file"] });
    expect(splitNodePath("q0")).toEqual({ root: "q0", edges: [] });
    const graph = parseBlockGraph({
      nodes: [
        { id: 1, type: "block-driver", name: "q0" },
        { id: 2, type: "block-driver", name: "#block700" },
      ],
      edges: [edge(1, 2, "file")],
    });
    expect(resolveNodePath(graph, "q0", ["file"])?.name).toBe("#block700");
    expect(walkNodePath(graph, "q0", ["file", "file"])).toEqual({ missing: "file", at: graph.nodes.get(2) });
    expect(walkNodePath(graph, "nosuch", [])).toEqual({ missing: "nosuch" });
  });
});

describe("graph replies", () => {
  it("keep QEMU's output order and are checked, with a typed error", () => {
    const graph = parseBlockGraph({
      nodes: [
        { id: 9, type: "block-driver", name: "z" },
        { id: 1, type: "block-driver", name: "a" },
      ],
      edges: [],
    });
    expect([...graph.nodes.keys()]).toEqual([9, 1]);
    expect(() => parseBlockGraph({ nodes: [{ id: 1, type: "disk", name: "a" }], edges: [] })).toThrow(GraphReplyError);
    expect(() => parseBlockGraph({ nodes: [], edges: [edge(1, 2, "file")] })).toThrow(/malformed edge/);
  });

  it("of query-named-block-nodes keep name, driver, mode and filename", () => {
    expect(parseNamedNodes([{ "node-name": "#block100", drv: "file", ro: true, file: "/x.img", cache: {} }])).toEqual([
      { name: "#block100", driver: "file", readOnly: true, filename: "/x.img" },
    ]);
    expect(() => parseNamedNodes({})).toThrow(GraphReplyError);
  });
});
