import { describe, expect, it } from "vitest";
import { loadScenario } from "../../src/language/index.js";

/** Input → where the (first) error is and a fragment of its message. */
const CASES: Array<[input: string, at: string, fragment: string]> = [
  ["reopn top", "1:1", "unknown command 'reopn'"],
  ["frobnicate", "1:1", "unknown command 'frobnicate'"],
  ["top: qcow2 file=f0", "1:1", "unknown command 'top'"],
  ["%%%", "1:1", "unexpected '%%%'"],
  ["scenario title", "1:10", "unexpected 'title'"],
  ["scenario", "1:9", "unexpected end of line"],
  ["tags", "1:5", "unexpected end of line"],
  ["require", "1:8", "unexpected end of line"],
  ["each fmt qcow2 raw", "1:10", "unexpected 'qcow2'"],
  ["each fmt in", "1:12", "unexpected end of line"],
  ["image a.qcow2 qcow2", "1:20", "unexpected end of line"],
  ["image a.qcow2 qcow2 big", "1:21", "unexpected 'big'"],
  ["add top qcow2", "1:9", "unexpected 'qcow2'"],
  ["add : qcow2", "1:5", "unexpected ':'"],
  ["add top: qcow2 file=", "1:21", "unexpected end of line"],
  ["add top: qcow2 file=(file filename=x", "1:37", "unexpected end of line"],
  ["add top: qcow2 x=[a, b", "1:23", "unexpected end of line"],
  ['add top: qcow2 x="abc', "1:18", "unterminated string"],
  ["add top: qcow2 =x", "1:16", "unexpected '='"],
  ["add t: null-co -> maybe", "1:19", "unexpected 'maybe'"],
  ["add t: null-co -> error", "1:24", "unexpected end of line"],
  ["add t: null-co -> error unquoted", "1:25", "unexpected 'unquoted'"],
  ["add t: null-co -> error /abc", "1:25", "unexpected '/abc'"],
  ["graph {\n  a null-co\n}", "2:5", "unexpected 'null-co'"],
  ["graph {\n  a: null-co\n  ???\n}", "3:3", "unexpected '?'"],
  ["reopen", "1:7", "unexpected end of line"],
  ["reopen top x", "1:13", "unexpected end of line"],
  ["reopen {\n  top read-only=on junk\n}", "2:24", "unexpected end of line"],
  ["del", "1:4", "unexpected end of line"],
  ["del a b", "1:7", "unexpected 'b'"],
  ["export", "1:7", "unexpected end of line"],
  ["unexport", "1:9", "unexpected end of line"],
  ["io top write", "1:8", "unexpected 'write'"],
  ["qmp", "1:4", "unexpected end of line"],
  ['qmp x {"a": }', "1:13", "unexpected '}'"],
  ['qmp x {"a" 1}', "1:12", "unexpected '1'"],
  ["expect", "1:7", "unexpected end of line"],
  ["expect blue top", "1:8", "unexpected 'blue'"],
  ["expect edge a -file> b", "1:15", "unexpected '-file'"],
  ["expect edge a -file-> b perm=[write", "1:36", "unexpected end of line"],
  ["expect graph {\n  a b\n}", "2:5", "unexpected 'b'"],
  ["show", "1:5", "unexpected end of line"],
  ["show everything", "1:6", "unexpected 'everything'"],
  ["show node", "1:10", "unexpected end of line"],
  ["add t: null-co size=1M )", "1:24", "unexpected ')'"],
  ["graph {\n  a: null-co\n", "1:7", "unclosed '{'"],
  ['qmp x {"a": 1\ndel y', "2:1", "unexpected 'del'"],
];

describe("malformed inputs each give one located error", () => {
  it.each(CASES)("%j → %s %s", (input, at, fragment) => {
    const { diagnostics } = loadScenario(input, "bad.scn");
    expect(diagnostics.length).toBeGreaterThan(0);
    const d = diagnostics[0]!;
    expect(`${d.location.start.line}:${d.location.start.column}`).toBe(at);
    expect(d.message).toContain(fragment);
    expect(d.location.source).toBe("bad.scn");
  });

  it("has at least 30 cases", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
  });
});
