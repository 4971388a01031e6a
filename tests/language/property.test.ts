import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { COMMANDS, loadScenario, ScenarioError } from "../../src/language/index.js";
import { MAX_NESTING } from "../../src/language/statement-chunks.js";

/** Pieces of the language, so random soups get deep into the grammar. */
const TOKENS = [
  ...COMMANDS,
  "raw", "node", "nodes", "graph", "edge", "ro", "rw", "gone", "exists", "in", "writable",
  "top", "top/file", "f0", "qcow2", "file", "null-co", "$fmt", "1M", "64k", "on", "off", "null",
  "perm=", "shared=", "read-only=", "file=", "backing=", "consistent-read", "write",
  ":", "=", ",", "(", ")", "[", "]", "{", "}", "->", "-file->", "ok", "error", '"msg"', '"', "/re/i", "/",
  "#", "##", "\\", "\n", "\n", " ", " ", "\t", '{"a": [1, null]}', "$", "-", "é", "\u0000",
];

/** Parsing either returns diagnostics or throws ScenarioError; anything else is a bug. */
function survives(text: string): void {
  const started = performance.now();
  try {
    const { scenario, diagnostics } = loadScenario(text, "fuzz.scn");
    expect(Array.isArray(scenario.statements)).toBe(true);
    for (const d of diagnostics) {
      expect(d.location.start.line).toBeGreaterThanOrEqual(1);
      expect(d.location.start.offset).toBeLessThanOrEqual(text.length);
    }
  } catch (e) {
    if (!(e instanceof ScenarioError)) throw e;
  }
  expect(performance.now() - started).toBeLessThan(1000);
}

describe("the parser on random input", () => {
  it("random strings", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 300 }), survives), { numRuns: 300 });
  });

  it("random token soups", () => {
    const soup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 80 }).map((ts) => ts.join(" "));
    const tight = fc.array(fc.constantFrom(...TOKENS), { maxLength: 80 }).map((ts) => ts.join(""));
    fc.assert(fc.property(fc.oneof(soup, tight), survives), { numRuns: 500 });
  });

  it("nesting too deep for the parser's stack is a diagnostic at the bracket, not a crash", () => {
    const deep = "add a: raw file=" + "(".repeat(20000);
    const { diagnostics } = loadScenario(deep, "deep.scn");
    expect(diagnostics.map((d) => `${d.location.start.line}:${d.location.start.column} ${d.message}`)).toEqual([
      `1:${17 + MAX_NESTING} brackets nest deeper than ${MAX_NESTING} levels`,
    ]);
  });
});
