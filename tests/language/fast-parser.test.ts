/**
 * The parser without memoization (src/language/generated/scenario-parser-fast.js) takes only plain
 * statements (statement-chunks.ts); on those it must build the same tree as the memoizing parser
 * that every diagnostic comes from. Checked on every statement of the scenario corpus and the docs,
 * and on broken variants of them (a truncated statement may still be plain).
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";
import { parseRaw } from "../../src/language/peggy-parser.js";
import { splitStatements } from "../../src/language/statement-chunks.js";

function files(dir: string, ext: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? files(p, ext) : e.name.endsWith(ext) ? [p] : [];
  });
}

it("builds the memoizing parser's tree for every plain statement, whole or cut short", () => {
  let compared = 0;
  for (const file of [...files("tests/scenarios", ".scn"), ...files("docs", ".md")]) {
    for (const chunk of splitStatements(readFileSync(file, "utf8"), file)) {
      if (!chunk.plain) continue;
      for (const text of [chunk.text, chunk.text.slice(0, Math.floor(chunk.text.length / 2))]) {
        if (!splitStatements(text, file).every((c) => c.plain)) continue;
        expect(parseRaw(text, file, true), `${file}:${chunk.line}: ${text}`).toEqual(parseRaw(text, file, false));
        compared++;
      }
    }
  }
  expect(compared).toBeGreaterThan(2000);
});
