/**
 * What the grammar produces, before parse.ts takes out what did not parse: the AST of ast.ts, with
 * a syntax-error node wherever a statement, or one line of a `{ … }` block, did not parse.
 *
 * The generated parser's declarations (generated/scenario-parser.d.ts) name these types as the
 * results of its start rules; scripts/gen-parser.ts says which rule returns which.
 */
import type { AddStatement, Assertion, EdgeSpec, ExpectStatement, GraphStatement, Location, ReopenEntry, ReopenStatement, Statement } from "./ast.js";

/** What the grammar leaves where a statement, or a line of a block, did not parse. */
export interface SyntaxErrorNode {
  type: "syntax-error";
  /** "statement": a top-level statement; "block": one line inside `{ … }`. */
  context: "statement" | "block";
  text: string;
  location: Location;
}

/** `graph { … }`, its bad lines still in place. */
export interface RawGraphStatement extends Omit<GraphStatement, "nodes"> {
  nodes: Array<AddStatement | SyntaxErrorNode>;
}

/** `reopen { … }`, its bad lines still in place. */
export interface RawReopenStatement extends Omit<ReopenStatement, "entries"> {
  entries: Array<ReopenEntry | SyntaxErrorNode>;
}

/** `expect graph { … }`, its bad lines still in place; the other assertions as they are. */
export type RawAssertion = Exclude<Assertion, { kind: "graph" }> | { kind: "graph"; edges: Array<EdgeSpec | SyntaxErrorNode> };

export interface RawExpectStatement extends Omit<ExpectStatement, "assertion"> {
  assertion: RawAssertion;
}

/** A statement that parsed; if it has a block, lines of the block may not have. */
export type RawStatement =
  | Exclude<Statement, GraphStatement | ReopenStatement | ExpectStatement>
  | RawGraphStatement
  | RawReopenStatement
  | RawExpectStatement;

/** The whole file: statements, with syntax-error nodes in place of what did not parse. */
export interface RawScenario {
  type: "scenario";
  statements: Array<RawStatement | SyntaxErrorNode>;
  location: Location;
}
