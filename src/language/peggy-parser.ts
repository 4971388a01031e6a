/**
 * The generated parser (generated/scenario-parser.js, from grammar/scenario.peggy), as the rest of
 * the language code calls it. Its types are Peggy's own declarations (generated/scenario-parser.d.ts),
 * whose start rules return the types of raw-ast.ts and ast.ts.
 */
import { parse, SyntaxError as PeggySyntaxError, type Expectation, type StartRuleNames } from "./generated/scenario-parser.js";
import { parse as parseFast, SyntaxError as FastSyntaxError } from "./generated/scenario-parser-fast.js";
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
  if (plain) {
    // Peggy records what it expected at every failed alternative, for messages only the memoizing
    // parser's errors are made from (parse.ts reads a batch with a syntax error again with it):
    // starting "silent" skips that bookkeeping, about a tenth of the fast parser's time.
    try {
      return parseFast(text, { grammarSource: file, startRule: "Scenario", peg$silentFails: 1 });
    } catch (e) {
      if (!(e instanceof FastSyntaxError)) throw e;
    }
  }
  return parse(text, { grammarSource: file, startRule: "Scenario" });
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
