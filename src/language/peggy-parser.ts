/**
 * Typed face of the generated parser (generated/scenario-parser.js, from grammar/scenario.peggy).
 */
import * as generated from "./generated/scenario-parser.js";
import type { Location, Statement } from "./ast.js";

/** What the grammar leaves where a statement, or a line of a block, did not parse. */
export interface SyntaxErrorNode {
  type: "syntax-error";
  /** "statement": a top-level statement; "block": one line inside `{ … }`. */
  context: "statement" | "block";
  text: string;
  location: Location;
}

/** The raw parse: statements, with syntax-error nodes in place of what did not parse. */
export interface RawScenario {
  type: "scenario";
  statements: Array<Statement | SyntaxErrorNode>;
  location: Location;
}

/** One expected item of a Peggy syntax error. */
export type PeggyExpectation =
  | { type: "literal"; text: string }
  | { type: "class"; parts: unknown[]; inverted: boolean }
  | { type: "any" }
  | { type: "end" }
  | { type: "other"; description: string };

/** Peggy's SyntaxError, as thrown by the generated parser. */
export interface PeggySyntaxError extends Error {
  expected: PeggyExpectation[] | null;
  found: string | null;
  location: Location;
}

/** Start rules of the grammar (see scripts/gen-parser.ts). */
export type StartRule = "Scenario" | "StatementLine" | "GraphEntryLine" | "ReopenEntryLine" | "EdgeLine";

const parseFn = generated.parse as (text: string, options: { grammarSource: string; startRule: StartRule }) => unknown;
const SyntaxErrorClass = generated.SyntaxError as unknown as new (...args: never[]) => PeggySyntaxError;

/** Parses a whole file. The grammar recovers from every syntax error, so this does not throw them. */
export function parseRaw(text: string, file: string): RawScenario {
  return parseFn(text, { grammarSource: file, startRule: "Scenario" }) as RawScenario;
}

/** Parses `text` from `rule`; returns Peggy's error when it does not parse, undefined when it does. */
export function parseError(text: string, rule: StartRule): PeggySyntaxError | undefined {
  try {
    parseFn(text, { grammarSource: "", startRule: rule });
    return undefined;
  } catch (e) {
    if (e instanceof SyntaxErrorClass) return e;
    throw e;
  }
}
