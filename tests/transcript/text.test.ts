import { describe, expect, it } from "vitest";
import { normalizeIoOutput, normalizeText, stableJson } from "../../src/transcript/normalize.js";
import { renderTranscript } from "../../src/transcript/transcript.js";
import { renderNodes } from "../../src/transcript/render-nodes.js";
import { parseBlockGraph } from "../../src/graph-view/block-graph.js";
import { labelGraph } from "../../src/transcript/labels.js";

describe("normalizeText", () => {
  it("replaces scratch paths (longest first) and auto names", () => {
    const text = "Could not open '/tmp/real/bc-1/x.img' and '/tmp/bc-1/y.img'; Node #block062 is not owned; #block999";
    const out = normalizeText(text, {
      scratchDirs: ["/tmp/bc-1", "/tmp/real/bc-1"],
      implicitNames: new Map([["#block062", "r1/file"]]),
    });
    expect(out).toBe("Could not open '$TEST_DIR/x.img' and '$TEST_DIR/y.img'; Node r1/file is not owned; #block?");
  });

  it("removes qemu-io timings and sorts JSON keys", () => {
    expect(normalizeIoOutput("wrote 65536/65536 bytes at offset 0\n64 KiB, 1 ops; 00.00 sec (12 MiB/sec and 200 ops/sec)\n")).toBe(
      "wrote 65536/65536 bytes at offset 0\n64 KiB, X ops; XX:XX:XX.X (XXX YYY/sec and XXX ops/sec)\n",
    );
    expect(stableJson({ b: 1, a: [{ d: 1, c: 2 }] })).toBe('{"a":[{"c":2,"d":1}],"b":1}');
  });
});

describe("renderTranscript", () => {
  it("writes the header, phases after a blank line, indented outcomes, one final newline", () => {
    const text = renderTranscript({ title: "t", bindings: [["fmt", "qcow2"]] }, [
      { step: "image a.img raw 1M   ", output: ["ok"] },
      { step: "## phase two", phase: true, output: [] },
      { step: "## (still the phase title)", phase: true, output: [] },
      { step: "graph {\n  a: null-co\n}", output: ["a: ok", "x\ny"] },
    ]);
    expect(text).toBe(
      'scenario "t"\neach fmt=qcow2\n\nimage a.img raw 1M\n  ok\n\n## phase two\n## (still the phase title)\n' +
        "graph {\n  a: null-co\n}\n  a: ok\n  x\n  y\n",
    );
  });
});

describe("show nodes", () => {
  it("lists nodes by label with driver, mode, filename for protocol nodes and children", () => {
    const graph = parseBlockGraph({
      nodes: [
        { id: 1, type: "block-driver", name: "top" },
        { id: 2, type: "block-driver", name: "#block1" },
      ],
      edges: [{ parent: 1, child: 2, name: "file", perm: [], "shared-perm": [] }],
    });
    const lines = renderNodes({
      graph,
      labels: labelGraph(graph),
      nodes: [
        { name: "#block1", driver: "file", readOnly: false, filename: "/s/top.qcow2" },
        { name: "top", driver: "qcow2", readOnly: true, filename: "/s/top.qcow2" },
      ],
      normalize: (t) => t.replace("/s", "$TEST_DIR"),
    });
    expect(lines).toEqual(["top       qcow2  ro  file=top/file", "top/file  file   rw  filename=$TEST_DIR/top.qcow2"]);
  });
});
