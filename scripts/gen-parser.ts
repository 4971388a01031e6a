/**
 * Regenerates the scenario parser from grammar/scenario.peggy: `npm run gen:parser`.
 *
 * The output is checked in (src/language/generated/scenario-parser.js) so that neither the build nor
 * a user needs Peggy; tests/language/generated-parser.test.ts fails when it is stale.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import peggy from "peggy";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The grammar file, relative to the repository root. */
export const GRAMMAR_PATH = "grammar/scenario.peggy";
/** The generated parser, relative to the repository root. */
export const PARSER_PATH = "src/language/generated/scenario-parser.js";

/** Rules the parser may start from: the whole file, and each unit that error recovery re-parses. */
export const START_RULES = ["Scenario", "StatementLine", "GraphEntryLine", "ReopenEntryLine", "EdgeLine"];

const HEADER = `// GENERATED FILE — DO NOT EDIT.
// Source: ${GRAMMAR_PATH}. Regenerate with \`npm run gen:parser\`.
`;

/** The parser source that `npm run gen:parser` writes, generated from `grammarText`. */
export function generateParserSource(grammarText: string): string {
  const source = peggy.generate(grammarText, {
    output: "source",
    format: "es",
    allowedStartRules: START_RULES,
    // Recovery skips brackets that may never close; without memoization that backtracking is
    // exponential in the nesting depth.
    cache: true,
    grammarSource: GRAMMAR_PATH,
  });
  return HEADER + source;
}

/** Reads the grammar from the repository and writes the parser; returns the written path. */
export function writeParser(): string {
  const grammar = readFileSync(join(root, GRAMMAR_PATH), "utf8");
  const out = join(root, PARSER_PATH);
  writeFileSync(out, generateParserSource(grammar));
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.stdout.write(`wrote ${writeParser()}\n`);
}
