import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { DECLARATIONS_PATH, FAST_DECLARATIONS_PATH, FAST_PARSER_PATH, GRAMMAR_PATH, PARSER_PATH, generateParser, hoistConstants, type GeneratedParser } from "../../scripts/gen-parser.js";

let generated: GeneratedParser | undefined;
/** Generating runs Peggy's CLI, so it is done once, and inside a test so that a grammar error fails one. */
function fresh(): GeneratedParser {
  generated ??= generateParser(readFileSync(GRAMMAR_PATH, "utf8"));
  return generated;
}

describe("the checked-in parser", () => {
  it.each([
    [PARSER_PATH, "parser"],
    [DECLARATIONS_PATH, "declarations"],
    [FAST_PARSER_PATH, "fastParser"],
    [FAST_DECLARATIONS_PATH, "fastDeclarations"],
  ] as const)("%s is what grammar/scenario.peggy generates (else run `npm run gen:parser`)", (path, part) => {
    const checkedIn = readFileSync(path, "utf8");
    if (fresh()[part] !== checkedIn) {
      throw new Error(`${path} is stale: it differs from what ${GRAMMAR_PATH} generates. Run \`npm run gen:parser\`.`);
    }
    expect(checkedIn.startsWith("// GENERATED FILE — DO NOT EDIT.")).toBe(true);
  });

  it("declares what each start rule returns, so callers need no casts", () => {
    const { declarations } = fresh();
    expect(declarations).toContain('import("../raw-ast.js").RawScenario;');
    expect(declarations).not.toMatch(/\): any;/);
  });

  it("makes the grammar's constants once, at module level, not at every parse", () => {
    for (const parser of [fresh().parser, fresh().fastParser]) {
      const inside = parser.slice(parser.indexOf("\nfunction peg$parse(input, options) {"));
      expect(inside).not.toMatch(/^\s+const peg\$[cre]\d+ =/m);
      expect(parser).toMatch(/^const peg\$e0 = peg\$\w+Expectation\(/m);
      expect(parser).toMatch(/^function peg\$classExpectation\(/m);
    }
  });

  it("refuses Peggy output it does not recognize, rather than half hoisting it", () => {
    expect(() => hoistConstants("export function parse() {}\n")).toThrow(/peg\$parse not found/);
    expect(() => hoistConstants("\nfunction peg$parse(input, options) {\n  const peg$e0 = 1;\n}\n")).toThrow(/peg\$literalExpectation not found/);
  });
});
