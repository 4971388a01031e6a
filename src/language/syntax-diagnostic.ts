/**
 * Turns a statement that did not parse into a diagnostic that says what was expected where.
 *
 * The grammar only records the span of a bad statement (so that parsing goes on); here the span's
 * text is parsed again, alone, from the start rule of its context, and Peggy's error for it is
 * mapped back into the file.
 */
import { didYouMean } from "../text/did-you-mean.js";
import type { Location, Position } from "./ast.js";
import { COMMANDS } from "./commands.js";
import { error, type Diagnostic } from "./diagnostic.js";
import { parseError, type PeggyExpectation, type StartRule } from "./peggy-parser.js";
import type { SyntaxErrorNode } from "./raw-ast.js";
import { sizeNotes } from "./size-hint.js";

/** The diagnostic for one syntax-error node; `rule` is the start rule for its context. */
export function syntaxDiagnostic(node: SyntaxErrorNode, rule: StartRule): Diagnostic {
  if (rule === "StatementLine") {
    const unknown = unknownCommand(node);
    if (unknown) return unknown;
  }
  const failure = parseError(node.text, rule);
  if (!failure) return error("cannot parse this statement here", node.location);
  const brace = unclosedBrace(node.text);
  if (brace !== undefined && node.text.slice(failure.location.start.offset).trim() === "") {
    return error("unclosed '{'", span(node.location.source, shift(node.location, positionIn(node.text, brace)), 1), [
      "the block never ends with '}', so the rest of the file was not checked",
    ]);
  }
  const rest = node.text.slice(failure.location.start.offset);
  const token = tokenAt(rest);
  const location = span(node.location.source, shift(node.location, failure.location.start), token.length);
  if (token === '"' && !/^"(?:[^"\\\r\n]|\\.)*"/.test(rest)) {
    return error("unterminated string", location, ["a string ends with '\"' on the line where it starts"]);
  }
  const message = token ? `unexpected '${token}'` : "unexpected end of line";
  const expected = describeExpected(failure.expected);
  // `image x.qcow2 qcow2 1m`: a size with a unit the language does not know.
  const size = failure.expected.some((e) => e.type === "other" && e.description === "number") ? sizeNotes(token) : [];
  return error(message, location, [...(expected ? [`expected ${expected}`] : []), ...size]);
}

/** `reopn top …`: a first word that is no command. */
function unknownCommand(node: SyntaxErrorNode): Diagnostic | undefined {
  const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(node.text);
  if (!m || COMMANDS.includes(m[0])) return undefined;
  const word = m[0];
  const location = span(node.location.source, node.location.start, word.length);
  const notes: string[] = [];
  const hint = didYouMean(word, COMMANDS);
  if (hint) notes.push(`did you mean '${hint}'?`);
  else if (node.text.slice(word.length).trimStart().startsWith(":")) {
    notes.push(`to add a node, write 'add ${word}: …' (or put it in a graph { … } block)`);
  }
  return error(`unknown command '${word}'`, location, notes);
}

/** `length` characters from `start`, on one line. */
function span(source: string, start: Position, length: number): Location {
  return { source, start, end: { ...start, offset: start.offset + length, column: start.column + length } };
}

/** Offset of the first `{` that no `}` closes (strings skipped), if any. */
function unclosedBrace(text: string): number | undefined {
  const open: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"' && text[i] !== "\n"; i++) if (text[i] === "\\") i++;
    } else if (c === "{") open.push(i);
    else if (c === "}") open.pop();
  }
  return open[0];
}

/** 1-based line and column of `offset` in `text`. */
function positionIn(text: string, offset: number): Position {
  const before = text.slice(0, offset).split(/\r\n|\r|\n/);
  return { offset, line: before.length, column: before[before.length - 1]!.length + 1 };
}

/** A position inside the bad text, as a position in the file. */
function shift(base: Location, p: Position): Position {
  return {
    offset: base.start.offset + p.offset,
    line: base.start.line + p.line - 1,
    column: p.line === 1 ? base.start.column + p.column - 1 : p.column,
  };
}

/** The token the parser stopped at: a run of word characters, or one other character. */
function tokenAt(rest: string): string {
  if (rest === "" || /^[\r\n]/.test(rest)) return "";
  const word = /^[A-Za-z0-9_.+$@%~*/:-]+/.exec(rest);
  return word ? word[0] : [...rest][0]!;
}

/**
 * "'=', option (key=value) or end of line". Blanks, line continuations and comments may go almost
 * anywhere; listing them only helps when nothing else was possible.
 */
export function describeExpected(expected: readonly PeggyExpectation[]): string {
  let items = [...new Set(expected.map(describeOne))].filter((s) => s !== "" && s !== "'\\'");
  const filler = new Set(["whitespace", "comment"]);
  if (items.some((i) => !filler.has(i))) items = items.filter((i) => !filler.has(i));
  if (items.length <= 1) return items[0] ?? "";
  return `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}`;
}

function describeOne(e: PeggyExpectation): string {
  switch (e.type) {
    case "literal":
      return `'${e.text}'`;
    case "other":
      return e.description;
    case "end":
      return "end of line";
    case "any":
      return "any character";
    case "class":
      return "";
  }
}
