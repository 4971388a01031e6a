/** docs/fuzz.md: its example of a written finding is a scenario the checker accepts, and its figures are filled in. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadScenario } from "../../src/language/index.js";

const doc = readFileSync("docs/fuzz.md", "utf8");

describe("docs/fuzz.md", () => {
  it("shows a written finding that loads", () => {
    const blocks = [...doc.matchAll(/```scn\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThan(0);
    for (const b of blocks) expect(loadScenario(b, "docs/fuzz.md").diagnostics, b).toEqual([]);
  });

  it("has its measured figures", () => {
    expect(doc).not.toMatch(/MEASURED_/);
    expect(doc).toMatch(/cases\/s/);
  });
});
