import { describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { formatDiagnostics, loadScenario } from "../../src/language/index.js";

/** Fenced blocks tagged scn / scn-invalid, with the line they start on. */
function blocks(file: string): Array<{ tag: string; text: string; line: number }> {
  const out: Array<{ tag: string; text: string; line: number }> = [];
  const lines = readFileSync(file, "utf8").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = /^```(scn|scn-invalid)\s*$/.exec(lines[i]!);
    if (!m) continue;
    const start = i + 1;
    while (i + 1 < lines.length && !lines[i + 1]!.startsWith("```")) i++;
    out.push({ tag: m[1]!, text: lines.slice(start, i + 1).join("\n"), line: start });
    i++;
  }
  return out;
}

const FILES = ["docs/language.md", "README.md"].filter((f) => existsSync(f));

describe("examples in the documentation", () => {
  it("docs/language.md has examples of both kinds", () => {
    const tags = blocks("docs/language.md").map((b) => b.tag);
    expect(tags.filter((t) => t === "scn").length).toBeGreaterThan(10);
    expect(tags).toContain("scn-invalid");
  });

  for (const file of FILES) {
    for (const b of blocks(file)) {
      it(`${file}:${b.line} (${b.tag})`, () => {
        const { diagnostics } = loadScenario(b.text, `${file}:${b.line}`);
        if (b.tag === "scn" && diagnostics.length > 0) throw new Error(formatDiagnostics(diagnostics, b.text));
        if (b.tag === "scn-invalid") {
          expect(diagnostics.length).toBeGreaterThan(0);
          // A `# message` comment on a line names the diagnostic that line must give.
          for (const [, claim] of b.text.matchAll(/#\s*([^;\n]+)/g)) {
            expect(diagnostics.map((d) => d.message)).toContain(claim!.trim());
          }
        }
      });
    }
  }
});
