/**
 * parseScenario(): text → AST plus syntax diagnostics. Never stops at the first error: a statement
 * (or a line of a block) that does not parse is left out of the AST and diagnosed on its own.
 */
import type { Location, Scenario, Statement } from "./ast.js";
import { error, sortDiagnostics, type Diagnostic } from "./diagnostic.js";
import { parseRaw, type StartRule } from "./peggy-parser.js";
import type { RawStatement, SyntaxErrorNode } from "./raw-ast.js";
import { ScenarioError } from "./scenario-error.js";
import { syntaxDiagnostic } from "./syntax-diagnostic.js";

/** The result of parsing one file: what parsed, and what did not. */
export interface ParseResult {
  /** Every statement that parsed, in source order. */
  scenario: Scenario;
  /** Syntax errors, in source order. */
  diagnostics: Diagnostic[];
  /**
   * Node names that statements which did not parse seem to declare (`add top qcow2 …` still names
   * `top`): validation treats them as existing, so one typo does not also make every later use of
   * the node an error.
   */
  unparsedNames: string[];
}

/**
 * Parses a scenario file. `file` names it in locations and diagnostics.
 *
 * Throws ScenarioError only when the text cannot be parsed at all (brackets nested so deeply that
 * the parser runs out of stack); every ordinary syntax error is a diagnostic in the result.
 */
export function parseScenario(text: string, file: string): ParseResult {
  try {
    const raw = parseRaw(text, file);
    const diagnostics: Diagnostic[] = [];
    const statements: Statement[] = [];
    const unparsed: SyntaxErrorNode[] = [];
    for (const s of raw.statements) {
      if (s.type === "syntax-error") {
        diagnostics.push(syntaxDiagnostic(s, "StatementLine"));
        unparsed.push(s);
      } else {
        statements.push(dropBadBlockLines(s, diagnostics, unparsed));
      }
    }
    return {
      scenario: { type: "scenario", file, statements },
      diagnostics: sortDiagnostics(diagnostics),
      unparsedNames: unparsed.flatMap((u) => guessDeclaredNames(u.text)),
    };
  } catch (e) {
    if (e instanceof RangeError) {
      throw new ScenarioError([error("nesting too deep to parse", startOf(file))], { cause: e });
    }
    throw e;
  }
}

/** Removes the syntax-error lines of a block statement, diagnosing each. */
function dropBadBlockLines(s: RawStatement, diagnostics: Diagnostic[], unparsed: SyntaxErrorNode[]): Statement {
  const keep = <T extends { type: string }>(items: Array<T | SyntaxErrorNode>, rule: StartRule): T[] => {
    const kept: T[] = [];
    for (const item of items) {
      if (!isSyntaxError(item)) {
        kept.push(item);
        continue;
      }
      diagnostics.push(syntaxDiagnostic(item, rule));
      if (rule === "GraphEntryLine") unparsed.push(item);
    }
    return kept;
  };
  // Spreading keeps each statement's keys in their order, so the AST reads as the parser built it.
  if (s.type === "graph") return { ...s, nodes: keep(s.nodes, "GraphEntryLine") };
  if (s.type === "reopen") return { ...s, entries: keep(s.entries, "ReopenEntryLine") };
  if (s.type === "expect") {
    const a = s.assertion;
    return { ...s, assertion: a.kind === "graph" ? { ...a, edges: keep(a.edges, "EdgeLine") } : a };
  }
  return s;
}

function isSyntaxError<T extends { type: string }>(item: T | SyntaxErrorNode): item is SyntaxErrorNode {
  return item.type === "syntax-error";
}

/** `add NAME …` / `NAME: …` at the start, and `(NAME: …` inline children, of text that did not parse. */
function guessDeclaredNames(text: string): string[] {
  const names: string[] = [];
  const head = /^(?:add\s+)?([A-Za-z0-9_$][A-Za-z0-9_.+$-]*)\b/.exec(text);
  if (head && (/^add\s/.test(text) || /^[^\s:]+\s*:/.test(text))) names.push(head[1]!);
  for (const m of text.matchAll(/\(\s*([A-Za-z0-9_$][A-Za-z0-9_.+$-]*)\s*:/g)) names.push(m[1]!);
  return names;
}

function startOf(file: string): Location {
  const p = { offset: 0, line: 1, column: 1 };
  return { source: file, start: p, end: { ...p, offset: 1, column: 2 } };
}
