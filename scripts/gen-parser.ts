/**
 * Regenerates the scenario parser and its type declarations from grammar/scenario.peggy:
 * `npm run gen:parser`.
 *
 * Both are checked in (src/language/generated/scenario-parser.js and .d.ts) so that neither the
 * build nor a user needs Peggy; tests/language/generated-parser.test.ts fails when they are stale.
 * Peggy's own CLI writes them: only it emits declarations (`--dts`), typed per start rule with
 * `--return-types`, so the code that calls the parser needs no casts.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The grammar file, relative to the repository root. */
export const GRAMMAR_PATH = "grammar/scenario.peggy";
/** The generated parser, relative to the repository root. */
export const PARSER_PATH = "src/language/generated/scenario-parser.js";
/** Its declarations, where TypeScript looks for them: next to it, with the same base name. */
export const DECLARATIONS_PATH = "src/language/generated/scenario-parser.d.ts";
/**
 * The same grammar without memoization, and its declarations: about three times faster on the
 * plain statements nearly every scenario consists of, exponential on some broken ones, so parse.ts
 * gives it only plain text (statement-chunks.ts).
 */
export const FAST_PARSER_PATH = "src/language/generated/scenario-parser-fast.js";
export const FAST_DECLARATIONS_PATH = "src/language/generated/scenario-parser-fast.d.ts";

/**
 * Rules the parser may start from (the whole file, and each unit that error recovery re-parses),
 * each with the type it returns, as the declarations file spells it (relative to that file).
 */
export const START_RULES: Readonly<Record<string, string>> = {
  Scenario: 'import("../raw-ast.js").RawScenario',
  StatementLine: 'import("../raw-ast.js").RawStatement',
  GraphEntryLine: 'import("../ast.js").AddStatement',
  ReopenEntryLine: 'import("../ast.js").ReopenEntry',
  EdgeLine: 'import("../ast.js").EdgeSpec',
};

const HEADER = `// GENERATED FILE — DO NOT EDIT.
// Source: ${GRAMMAR_PATH}. Regenerate with \`npm run gen:parser\`.
`;

/** What `npm run gen:parser` writes. */
export interface GeneratedParser {
  /** The parser, an ES module. */
  parser: string;
  /** Its TypeScript declarations. */
  declarations: string;
  /** The parser without memoization (FAST_PARSER_PATH). */
  fastParser: string;
  /** Its TypeScript declarations. */
  fastDeclarations: string;
}

/**
 * The parser and declarations that `grammarText` generates. Peggy's CLI runs in a private
 * directory, so nothing in the repository is touched; a grammar error or a Peggy warning throws
 * with Peggy's message.
 */
export function generateParser(grammarText: string): GeneratedParser {
  const cached = runPeggy(grammarText, true);
  const fast = runPeggy(grammarText, false);
  return { parser: cached.parser, declarations: cached.declarations, fastParser: fast.parser, fastDeclarations: fast.declarations };
}

/** One run of Peggy's CLI over the grammar, with or without memoization (`--cache`). */
function runPeggy(grammarText: string, cache: boolean): { parser: string; declarations: string } {
  const work = mkdtempSync(join(tmpdir(), "gen-parser-"));
  try {
    // The grammar sits at its repository path inside the private directory, so that Peggy's
    // messages point at grammar/scenario.peggy.
    mkdirSync(join(work, dirname(GRAMMAR_PATH)), { recursive: true });
    writeFileSync(join(work, GRAMMAR_PATH), grammarText);
    const args = [
      "--format", "es",
      "--allowed-start-rules", Object.keys(START_RULES).join(","),
      // Recovery skips brackets that may never close; without memoization that backtracking is
      // exponential in the nesting depth.
      ...(cache ? ["--cache"] : []),
      "--dts",
      "--return-types", JSON.stringify(START_RULES),
      "--output", "out/parser.js",
      GRAMMAR_PATH,
    ];
    const peggy = createRequire(import.meta.url).resolve("peggy/bin/peggy.js");
    const run = spawnSync(process.execPath, [peggy, ...args], { cwd: work, encoding: "utf8" });
    if (run.error) throw run.error;
    if (run.status !== 0) throw new Error(`peggy could not generate the parser:\n${run.stderr}${run.stdout}`);
    // Peggy prints warnings (an unused rule, say) and still succeeds; a checked-in grammar has none.
    if (run.stderr.trim() !== "") throw new Error(`peggy warned about ${GRAMMAR_PATH}:\n${run.stderr}`);
    return {
      parser: HEADER + hoistConstants(readFileSync(join(work, "out/parser.js"), "utf8")),
      declarations: HEADER + readFileSync(join(work, "out/parser.d.ts"), "utf8"),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Peggy declares the grammar's literals, character classes and expectations inside `peg$parse`, so
 * each call made them all again: 25 regular expressions and 180 expectation objects for every
 * scenario file, about a third of what the fast parser allocated before reading a character. They
 * are constants (Peggy's error reporting only reads them): moved to module level, with the
 * expectation constructors from Peggy's output that make them. A Peggy whose output does
 * not look as expected is an error here, not a parser that half works.
 */
export function hoistConstants(parser: string): string {
  const head = "\nfunction peg$parse(input, options) {\n";
  const at = parser.indexOf(head);
  if (at < 0) throw new Error("gen-parser: peg$parse not found in Peggy's output");
  const before = parser.slice(0, at + 1);
  let body = parser.slice(at + 1);
  const constants: string[] = [];
  body = body.replace(/^  const peg\$[cre]\d+ = [^\n]*;\n/gm, (line) => {
    constants.push(line.slice(2));
    return "";
  });
  const factories: string[] = [];
  for (const name of ["literal", "class", "any", "end", "other"]) {
    const f = new RegExp(`^  function peg\\$${name}Expectation\\([^)]*\\) \\{\\n    return [^\\n]*;\\n  \\}$`, "m").exec(body);
    if (!f) throw new Error(`gen-parser: peg$${name}Expectation not found in Peggy's output`);
    factories.push(f[0].replace(/^  /gm, "") + "\n");
    body = body.replace(`${f[0]}\n\n`, "");
  }
  if (!constants.some((c) => c.startsWith("const peg$e"))) throw new Error("gen-parser: no expectations found in Peggy's output");
  return `${before}${factories.join("\n")}\n${constants.join("")}\n${body}`;
}

/** Reads the grammar from the repository and writes the parser and its declarations; returns their paths. */
export function writeParser(): string[] {
  const generated = generateParser(readFileSync(join(root, GRAMMAR_PATH), "utf8"));
  writeFileSync(join(root, PARSER_PATH), generated.parser);
  writeFileSync(join(root, DECLARATIONS_PATH), generated.declarations);
  writeFileSync(join(root, FAST_PARSER_PATH), generated.fastParser);
  writeFileSync(join(root, FAST_DECLARATIONS_PATH), generated.fastDeclarations);
  return [PARSER_PATH, DECLARATIONS_PATH, FAST_PARSER_PATH, FAST_DECLARATIONS_PATH];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const path of writeParser()) process.stdout.write(`wrote ${path}\n`);
}
