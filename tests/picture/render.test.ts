/** The picture API on its own: a graph with every kind of node, drawn as DOT (a golden string) and as SVG. */
import { describe, expect, it } from "vitest";
import type { BlockGraph } from "../../src/graph-view/block-graph.js";
import { renderGraphDot, renderGraphsDot } from "../../src/picture/dot.js";
import { PictureError } from "../../src/picture/errors.js";
import { graphPicture } from "../../src/picture/graph-picture.js";
import { dotToSvg, renderGraphSvg } from "../../src/picture/svg.js";
import { svgTexts } from "./svg-check.js";

// Ids and output order as an engine might give them; the picture must not depend on either.
const graph: BlockGraph = {
  nodes: new Map([
    [7, { id: 7, type: "block-backend", name: "" }],
    [3, { id: 3, type: "block-driver", name: "#block123" }],
    [1, { id: 1, type: "block-driver", name: "base" }],
    [2, { id: 2, type: "block-driver", name: 'q"1' }],
    [9, { id: 9, type: "block-job", name: "j0" }],
  ]),
  edges: [
    { parent: 7, child: 2, name: "root", perm: ["write", "consistent-read"], shared: ["write-unchanged", "consistent-read"] },
    { parent: 2, child: 1, name: "backing", perm: [], shared: ["resize", "write", "consistent-read", "write-unchanged"] },
    { parent: 2, child: 3, name: "file", perm: ["resize", "consistent-read", "write"], shared: ["consistent-read"] },
    { parent: 9, child: 2, name: "main node", perm: [], shared: ["consistent-read"] },
  ],
};
const labels = new Map([
  [7, "export e0"],
  [3, 'q"1/file'],
  [1, "base"],
  [2, 'q"1'],
  [9, "job j0"],
]);
const named = [
  { name: "base", driver: "qcow2", readOnly: true, filename: "" },
  { name: 'q"1', driver: "qcow2", readOnly: false, filename: "" },
  { name: "#block123", driver: "file", readOnly: false, filename: "" },
];

describe("graph pictures", () => {
  const picture = graphPicture("t", graph, labels, named);

  it("DOT: sorted by label, read-only nodes grey, quotes escaped, permissions in QEMU's order", () => {
    expect(renderGraphDot(picture)).toBe(String.raw`digraph "t" {
  graph [rankdir=TB, fontname="Courier", fontsize=12];
  node [fontname="Courier", fontsize=12, shape=box, style="rounded,filled", fillcolor=white];
  edge [fontname="Courier", fontsize=10];
  "base" [label="base\nqcow2, ro", fillcolor="#e4e4e4"];
  "q\"1" [label="q\"1\nqcow2, rw"];
  "q\"1/file" [label="q\"1/file\nfile, rw"];
  "export e0" [label="export e0", style=""];
  "job j0" [label="job j0", shape=parallelogram, style=""];
  "q\"1" -> "base" [label="backing\lperm=[]\lshared=[consistent-read, write, write-unchanged, resize]\l"];
  "q\"1" -> "q\"1/file" [label="file\lperm=[consistent-read, write, resize]\lshared=[consistent-read]\l"];
  "export e0" -> "q\"1" [label="root\lperm=[consistent-read, write]\lshared=[consistent-read, write-unchanged]\l"];
  "job j0" -> "q\"1" [label="main node\lperm=[]\lshared=[consistent-read]\l"];
}
`);
  });

  it("does not depend on the engine's ids or output order", () => {
    const shuffled: BlockGraph = { nodes: new Map([...graph.nodes].reverse()), edges: [...graph.edges].reverse() };
    expect(renderGraphDot(graphPicture("t", shuffled, labels, [...named].reverse()))).toBe(renderGraphDot(picture));
  });

  it("several pictures become clusters whose node ids cannot clash", () => {
    const dot = renderGraphsDot("all", [picture, { ...picture, title: "u" }]);
    expect(dot).toContain('"0:base" [label="base\\nqcow2, ro"');
    expect(dot).toContain('"1:base" [label="base\\nqcow2, ro"');
    expect(dot).toContain('  subgraph "cluster_1" {\n    label="u";');
  });

  it("renderGraphSvg draws a well-formed SVG with every label", async () => {
    const texts = svgTexts(await renderGraphSvg(picture));
    for (const t of ["base", "qcow2, ro", 'q"1', "q\"1/file", "export e0", "job j0", "main node", "perm=[consistent-read, write]"]) {
      expect(texts).toContain(t);
    }
  });

  it("nodes labelled alike stay apart, numbered by their edges whatever the engine's ids", () => {
    // Two anonymous BlockBackends (neither an export): transcripts call both "unnamed BB".
    const twoBackends = (a: number, b: number): BlockGraph => ({
      nodes: new Map([
        [a, { id: a, type: "block-backend", name: "" }],
        [b, { id: b, type: "block-backend", name: "" }],
        [1, { id: 1, type: "block-driver", name: "base" }],
        [2, { id: 2, type: "block-driver", name: "top" }],
      ]),
      edges: [
        { parent: a, child: 2, name: "root", perm: [], shared: ["consistent-read"] },
        { parent: b, child: 1, name: "root", perm: [], shared: ["consistent-read"] },
      ],
    });
    const labelled = (a: number, b: number) =>
      new Map([
        [a, "unnamed BB"],
        [b, "unnamed BB"],
        [1, "base"],
        [2, "top"],
      ]);
    const dot = renderGraphDot(graphPicture("bb", twoBackends(5, 6), labelled(5, 6), []));
    expect(dot).toContain('"unnamed BB (1)" -> "base"');
    expect(dot).toContain('"unnamed BB (2)" -> "top"');
    expect(renderGraphDot(graphPicture("bb", twoBackends(6, 5), labelled(6, 5), []))).toBe(dot);
  });

  it("a DOT text Graphviz cannot read is a PictureError", async () => {
    await expect(dotToSvg("digraph { a -> }")).rejects.toBeInstanceOf(PictureError);
  });
});
