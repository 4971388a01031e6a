import { describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/cli/main.js";
import { loadScenario, parseScenario } from "../../src/language/index.js";
import { brief, fakeIo } from "./helpers.js";

const THREE_ERRORS = [
  'scenario "three mistakes"',
  "add f0: null-co",
  "add top qcow2 file=f0", // syntax: missing ':'
  "reopn f0 read-only=on", // unknown command
  "graph {",
  "  a: null-co",
  "  b: raw file=(a",
  "  c: null-co",
  "}",
  "del f0",
].join("\n");

describe("error recovery", () => {
  it("a syntax error costs only its own statement", () => {
    const { scenario, diagnostics } = parseScenario(THREE_ERRORS, "t.scn");
    expect(diagnostics.map(brief)).toEqual(["3:9 unexpected 'qcow2'", "4:1 unknown command 'reopn'", "7:17 unexpected end of line"]);
    expect(scenario.statements.map((s) => s.type)).toEqual(["title", "add", "graph", "del"]);
    const graph = scenario.statements[2]!;
    expect(graph.type === "graph" && graph.nodes.map((n) => n.name.name)).toEqual(["a", "c"]);
  });

  it("a block that is never closed is one error, not one per line after it", () => {
    const { diagnostics } = parseScenario("add a: null-co\ngraph {\n  b: null-co\n  c: raw file=b\n\ndel a\n", "t.scn");
    expect(diagnostics.map(brief)).toEqual(["2:7 unclosed '{'"]);
    expect(diagnostics[0]!.notes).toEqual(["the block never ends with '}', so the rest of the file was not checked"]);
  });

  it("a statement spanning lines inside brackets is one error", () => {
    const { scenario, diagnostics } = parseScenario("add a: raw file=(\n  file\n  filename=x ???\n)\ndel a", "t.scn");
    expect(diagnostics.map(brief)).toEqual(["3:14 unexpected '?'"]);
    expect(scenario.statements.map((s) => s.type)).toEqual(["del"]);
  });

  it("blockcheck check prints all three and exits 1", async () => {
    const dir = mkdtempSync(join(tmpdir(), "blockcheck-check-"));
    try {
      writeFileSync(join(dir, "bad.scn"), THREE_ERRORS);
      const t = fakeIo(dir);
      expect(await main(["check", "bad.scn"], t.io)).toBe(1);
      const headers = t.out().split("\n").filter((l) => l.startsWith("bad.scn:"));
      expect(headers).toEqual([
        "bad.scn:3:9: error: unexpected 'qcow2'",
        "bad.scn:4:1: error: unknown command 'reopn'",
        "bad.scn:7:17: error: unexpected end of line",
      ]);
      expect(t.out()).toContain("1 of 1 scenario file invalid");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("validation after a syntax error", () => {
  it("a node whose add did not parse is not also reported at every later use", () => {
    const text = "add top qcow2 file=(f: file filename=x)\nreopen top read-only=on\nexpect ro f\nadd top: null-co\nreopen nosuch x=1";
    expect(loadScenario(text, "t.scn").diagnostics.map(brief)).toEqual(["1:9 unexpected 'qcow2'", "5:8 unknown node 'nosuch'"]);
  });
});
