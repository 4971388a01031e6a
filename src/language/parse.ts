/**
 * parseScenario(): text → AST plus syntax diagnostics. Never stops at the first error: a statement
 * (or a line of a block) that does not parse is left out of the AST and diagnosed on its own.
 */
import type { Location, Scenario, Statement } from "./ast.js";
import { error, sortDiagnostics, type Diagnostic } from "./diagnostic.js";
import { parseRaw, type StartRule } from "./peggy-parser.js";
import type { RawScenario, RawStatement, SyntaxErrorNode } from "./raw-ast.js";
import { relocate } from "./relocate.js";
import { splitStatements, type Chunk } from "./statement-chunks.js";
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
 * The file is parsed a batch of whole statements at a time (statement-chunks.ts says why), so the
 * parser's memory stays bounded whatever the file's size. A statement whose brackets nest deeper
 * than MAX_NESTING is not parsed: it is diagnosed at its bracket. Every syntax error is a
 * diagnostic in the result; nothing is thrown for the text itself.
 */
export function parseScenario(text: string, file: string): ParseResult {
  const diagnostics: Diagnostic[] = [];
  const statements: Statement[] = [];
  const unparsed: SyntaxErrorNode[] = [];
  const unparsedNames: string[] = [];
  for (const batch of batches(text, splitStatements(text, file))) {
    if (batch.tooDeep) {
      diagnostics.push(batch.tooDeep);
      unparsedNames.push(...guessDeclaredNames(batch.text.trimStart()));
      continue;
    }
    const raw = parseBatch(batch, file);
    if ("diagnostic" in raw) {
      diagnostics.push(raw.diagnostic);
      unparsedNames.push(...guessDeclaredNames(batch.text.trimStart()));
      continue;
    }
    for (const s of raw.statements) {
      if (s.type === "syntax-error") {
        diagnostics.push(syntaxDiagnostic(s, "StatementLine"));
        unparsed.push(s);
      } else {
        statements.push(dropBadBlockLines(s, diagnostics, unparsed));
      }
    }
  }
  return {
    scenario: { type: "scenario", file, statements },
    diagnostics: sortDiagnostics(diagnostics),
    unparsedNames: [...unparsedNames, ...unparsed.flatMap((u) => guessDeclaredNames(u.text))],
  };
}

/**
 * About this much text goes to the parser at once. The parser memoizes every rule at every offset,
 * so small pieces keep that table small and hot: measured on a 1 MB scenario, 4 KiB pieces parse
 * 1.7 times faster than 32 KiB ones and about 7 times faster than the whole file at once.
 */
const BATCH_CHARS = 4 * 1024;

/**
 * Consecutive statements of `text` joined into batches of about BATCH_CHARS (with the line ends
 * between them); a too-deep statement stays alone.
 */
function* batches(text: string, chunks: readonly Chunk[]): Generator<Chunk> {
  let first: Chunk | undefined;
  let last: Chunk | undefined;
  let plain = true;
  const joined = (): Chunk => ({ ...first!, text: first === last ? first!.text : text.slice(first!.offset, last!.offset + last!.text.length), plain });
  for (const c of chunks) {
    if (c.tooDeep) {
      if (first) yield joined();
      first = last = undefined;
      yield c;
      continue;
    }
    if (!first) plain = true;
    first ??= c;
    last = c;
    plain &&= c.plain;
    if (last.offset + last.text.length - first.offset >= BATCH_CHARS) {
      yield joined();
      first = last = undefined;
    }
  }
  if (first) yield joined();
}

/** One batch through the parser, its locations moved to where it is in the file. */
function parseBatch(batch: Chunk, file: string): { statements: RawScenario["statements"] } | { diagnostic: Diagnostic } {
  let raw: RawScenario;
  try {
    raw = parseRaw(batch.text, file, batch.plain);
    // What did not parse is parsed again by the memoizing parser, whose failures are the ones the
    // diagnostics have always been made from.
    if (batch.plain && hasSyntaxError(raw)) raw = parseRaw(batch.text, file);
  } catch (e) {
    // The nesting limit keeps the parser's recursion far from the stack's end; this is the last line
    // of defence should it be called with little stack left.
    if (!(e instanceof RangeError)) throw e;
    return { diagnostic: error("this statement is too deeply nested to parse", startOf(file, batch)) };
  }
  // A batch at the start of the file is where its locations already say.
  if (batch.offset !== 0 || batch.line !== 1) relocate(raw.statements, batch);
  return { statements: raw.statements };
}

/** Whether any statement of `raw`, or any line of its blocks (where dropBadBlockLines looks), failed to parse. */
function hasSyntaxError(raw: RawScenario): boolean {
  for (const s of raw.statements) {
    if (isSyntaxError(s)) return true;
    if (s.type === "graph" && s.nodes.some(isSyntaxError)) return true;
    if (s.type === "reopen" && s.entries.some(isSyntaxError)) return true;
    if (s.type === "expect" && s.assertion.kind === "graph" && s.assertion.edges.some(isSyntaxError)) return true;
  }
  return false;
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

function startOf(file: string, at: Chunk): Location {
  const p = { offset: at.offset, line: at.line, column: 1 };
  return { source: file, start: p, end: { ...p, offset: at.offset + 1, column: 2 } };
}
