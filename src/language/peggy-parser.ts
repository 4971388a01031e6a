/**
 * The generated parser (generated/scenario-parser.js, from grammar/scenario.peggy), as the rest of
 * the language code calls it. Its types are Peggy's own declarations (generated/scenario-parser.d.ts),
 * whose start rules return the types of raw-ast.ts and ast.ts.
 */
import { parse, SyntaxError as PeggySyntaxError, type Expectation, type StartRuleNames } from "./generated/scenario-parser.js";
import { parse as parseFast } from "./generated/scenario-parser-fast.js";
import type { RawScenario } from "./raw-ast.js";

/** One expected item of a Peggy syntax error. */
export type PeggyExpectation = Expectation;

/** Start rules of the grammar (see scripts/gen-parser.ts). */
export type StartRule = StartRuleNames;

/**
 * Parses a whole file. The grammar recovers from every syntax error, so this does not throw them.
 * `plain` text (statement-chunks.ts: balanced, shallow, closed) may go to the parser without
 * memoization, which builds the same tree about three times faster there; elsewhere its
 * backtracking can take exponential time, and the memoizing parser reads it.
 */
export function parseRaw(text: string, file: string, plain = false): RawScenario {
  return (plain ? parseFast : parse)(text, { grammarSource: file, startRule: "Scenario" });
}

/** Parses `text` from `rule`; returns Peggy's error when it does not parse, undefined when it does. */
export function parseError(text: string, rule: StartRule): PeggySyntaxError | undefined {
  try {
    parse(text, { grammarSource: "", startRule: rule });
    return undefined;
  } catch (e) {
    if (e instanceof PeggySyntaxError) return e;
    throw e;
  }
}
