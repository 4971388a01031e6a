import { describe, expect, it } from "vitest";
import { parseScenario } from "../../src/language/index.js";
import { only, statements } from "./helpers.js";

describe("parsing each statement", () => {
  it("scenario, tags, require, each", () => {
    const [title, tags, req, each] = statements('scenario "a title"\ntags reopen quick\nrequire qemu >= 7.2\neach fmt in qcow2 raw');
    expect(title).toMatchObject({ type: "title", title: "a title", text: 'scenario "a title"' });
    expect(tags).toMatchObject({ type: "tags", tags: [{ name: "reopen" }, { name: "quick" }] });
    expect(req).toMatchObject({ type: "require", what: { name: "qemu" }, args: [{ value: ">=" }, { value: "7.2" }] });
    expect(each).toMatchObject({ type: "each", variable: { name: "fmt" }, values: [{ value: "qcow2" }, { value: "raw" }] });
  });

  it("image with size suffix and options", () => {
    const s = only("image top.qcow2 qcow2 64k backing=base.qcow2 backing-fmt=qcow2", "image");
    expect(s.path).toMatchObject({ type: "word", value: "top.qcow2" });
    expect(s.format.name).toBe("qcow2");
    expect(s.size).toMatchObject({ type: "number", value: 65536, raw: "64k" });
    expect(s.options.map((o) => [o.key, o.value])).toMatchObject([
      ["backing", { type: "word", value: "base.qcow2" }],
      ["backing-fmt", { type: "word", value: "qcow2" }],
    ]);
  });

  it("add with every kind of value", () => {
    const s = only(
      'add top: qcow2 file=(f0: file filename="a b.qcow2") backing=null read-only=on cache.direct=false ' +
        'x=[resize, write] n=1M w=top/file j={"k": [1, "v"]} b=(null-co)',
      "add",
    );
    expect(s.name.name).toBe("top");
    expect(s.driver.name).toBe("qcow2");
    const v = Object.fromEntries(s.options.map((o) => [o.key, o.value]));
    expect(v.file).toMatchObject({ type: "child", name: { name: "f0" }, driver: { name: "file" } });
    expect(v.file!.type === "child" && v.file!.options[0]!.value).toMatchObject({ type: "string", value: "a b.qcow2" });
    expect(v.backing).toMatchObject({ type: "null" });
    expect(v["read-only"]).toMatchObject({ type: "bool", value: true, raw: "on" });
    expect(v["cache.direct"]).toMatchObject({ type: "bool", value: false, raw: "false" });
    expect(v.x).toMatchObject({ type: "list", items: [{ type: "word", value: "resize" }, { type: "word", value: "write" }] });
    expect(v.n).toMatchObject({ type: "number", value: 1048576 });
    expect(v.w).toMatchObject({ type: "word", value: "top/file" });
    expect(v.j).toMatchObject({ type: "json", value: { k: [1, "v"] } });
    expect(v.b).toMatchObject({ type: "child", driver: { name: "null-co" } });
    expect(v.b).not.toHaveProperty("name");
  });

  it("option keys carry their own location", () => {
    const s = only("add n: null-co size=1M", "add");
    expect(s.options[0]!.keyLocation).toMatchObject({ start: { column: 16 }, end: { column: 20 } });
    expect(s.options[0]!.value.location).toMatchObject({ start: { column: 21 }, end: { column: 23 } });
  });

  it("graph block: one add per line, leading add optional, expectations per line", () => {
    const s = only('graph {\n  a: null-co\n  add b: raw file=a -> error "x"\n}', "graph");
    expect(s.nodes.map((n) => [n.name.name, n.driver.name, n.expectation?.type])).toEqual([
      ["a", "null-co", undefined],
      ["b", "raw", "error"],
    ]);
    expect(s.nodes[1]!.text).toBe('add b: raw file=a -> error "x"');
    expect(s.text).toBe('graph {\n  a: null-co\n  add b: raw file=a -> error "x"\n}');
  });

  it("reopen: delta, block transaction, raw, and a node named raw", () => {
    expect(only("reopen top backing=null", "reopen")).toMatchObject({
      mode: "delta",
      entries: [{ node: { text: "top", root: "top", path: [] }, options: [{ key: "backing" }] }],
    });
    expect(only("reopen {\n  top read-only=on\n  top/file read-only=on\n}", "reopen")).toMatchObject({
      mode: "delta",
      entries: [{ node: { text: "top" } }, { node: { text: "top/file", root: "top", path: ["file"] } }],
    });
    expect(only("reopen raw top driver=qcow2", "reopen")).toMatchObject({ mode: "raw", entries: [{ node: { text: "top" } }] });
    expect(only("reopen raw { top driver=qcow2 }", "reopen")).toMatchObject({ mode: "raw" });
    expect(only("reopen raw read-only=on", "reopen")).toMatchObject({ mode: "delta", entries: [{ node: { text: "raw" } }] });
  });

  it("del, export, unexport, io, qmp", () => {
    expect(only("del top/file", "del").node).toMatchObject({ root: "top", path: ["file"] });
    expect(only("export top writable id=e0 name=n", "export")).toMatchObject({
      writable: true,
      options: [{ key: "id" }, { key: "name" }],
    });
    expect(only("export top", "export").writable).toBe(false);
    expect(only("unexport e0", "unexport").target.name).toBe("e0");
    expect(only('io top "write -P 0xa5 0 64k"', "io").command.value).toBe("write -P 0xa5 0 64k");
    expect(only('qmp query-block {"flat": true,\n  "x": null}', "qmp")).toMatchObject({
      command: { name: "query-block" },
      args: { type: "json", value: { flat: true, x: null } },
    });
    expect(only("qmp query-version", "qmp")).not.toHaveProperty("args");
  });

  it("expectations: ok, exact, regex with flags", () => {
    expect(only("del a -> ok", "del").expectation).toMatchObject({ type: "ok" });
    expect(only('del a -> error "No \\"such\\""', "del").expectation).toMatchObject({
      type: "error",
      match: { type: "exact", text: 'No "such"' },
    });
    expect(only("del a -> error /^Node [a-z]+\\/x$/i", "del").expectation).toMatchObject({
      match: { type: "regex", pattern: "^Node [a-z]+\\/x$", flags: "i" },
    });
  });

  it("expect edge with every perm-list form, and an export as parent", () => {
    const e = only("expect edge top -file-> top/file perm=consistent-read,write shared=", "expect");
    expect(e.assertion).toMatchObject({
      kind: "edge",
      edge: { parent: { text: "top" }, name: { name: "file" }, child: { text: "top/file" }, shared: [] },
    });
    expect(e.assertion.kind === "edge" && e.assertion.edge.perm!.map((p) => p.name)).toEqual(["consistent-read", "write"]);
    const b = only("expect edge a -data-file-> b perm=[] shared=[resize, write]", "expect");
    expect(b.assertion).toMatchObject({ edge: { name: { name: "data-file" }, perm: [], shared: [{ name: "resize" }, { name: "write" }] } });
    const c = only("expect edge a -backing-> b", "expect");
    expect(c.assertion.kind === "edge" && c.assertion.edge).not.toHaveProperty("perm");
    const x = only("expect edge export e0 -root-> top perm=consistent-read", "expect");
    expect(x.assertion).toMatchObject({ edge: { parent: { type: "exportref", id: "e0", text: "export e0" } } });
  });

  it("expect ro/rw/gone/exists and expect graph", () => {
    for (const kind of ["ro", "rw", "gone", "exists"]) {
      expect(only(`expect ${kind} top/backing`, "expect").assertion).toMatchObject({ kind, node: { path: ["backing"] } });
    }
    const g = only("expect graph {\n  a -file-> b perm=write\n  # a comment\n  b -file-> c\n}", "expect");
    expect(g.assertion.kind === "graph" && g.assertion.edges.map((e) => e.child.text)).toEqual(["b", "c"]);
  });

  it("show, phases, comments, continuation lines", () => {
    const [a, b, c, phase, add] = statements(
      "show graph # trailing comment\nshow nodes\nshow node top/file\n# plain comment\n## the second act\nadd a: null-co \\\n   size=1M",
    );
    expect(a).toMatchObject({ type: "show", what: "graph", text: "show graph" });
    expect(b).toMatchObject({ type: "show", what: "nodes" });
    expect(c).toMatchObject({ type: "show", what: "node", node: { text: "top/file" } });
    expect(phase).toMatchObject({ type: "phase", title: "the second act" });
    expect(add).toMatchObject({ type: "add", options: [{ key: "size" }], location: { start: { line: 6 }, end: { line: 7 } } });
  });

  it("inline children may span lines inside their parentheses", () => {
    const s = only("add t: qcow2 file=(\n  f: file\n  filename=x.qcow2  # why\n)", "add");
    expect(s.options[0]!.value).toMatchObject({ type: "child", name: { name: "f" }, options: [{ key: "filename" }] });
  });

  it("keywords need a word boundary", () => {
    const { scenario, diagnostics } = parseScenario("reopentop x=1", "t.scn");
    expect(scenario.statements).toEqual([]);
    expect(diagnostics.map((d) => d.message)).toEqual(["unknown command 'reopentop'"]);
  });

  it("locations name the file and are 1-based", () => {
    const s = only("\n  del top", "del");
    expect(s.location).toMatchObject({ source: "t.scn", start: { line: 2, column: 3, offset: 3 } });
    expect(s.node.location).toMatchObject({ start: { line: 2, column: 7 }, end: { line: 2, column: 10 } });
  });
});
