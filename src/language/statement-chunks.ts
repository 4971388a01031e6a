/**
 * A cheap pre-scan of a scenario file, before the Peggy parser sees it: it cuts the text into
 * top-level statements and measures how deeply each nests its brackets.
 *
 * Why: the generated parser is recursive and memoizes every rule at every position of its input.
 * Given a whole big file at once it needs memory in proportion to the file (a 50 MB scenario
 * exhausts the heap); given brackets nested thousands deep it overflows the stack. Parsing one
 * statement at a time bounds the first, and a statement that nests deeper than MAX_NESTING is
 * reported here, at its bracket, and never reaches the parser.
 *
 * A cut is made at a line end outside every bracket, string and comment, and not continued by `\`.
 * That is where the grammar ends a statement, so a file that parses gives the same statements
 * whole or cut. The scan reads strings, comments and `-> error /regex/` as the grammar does for a
 * statement that parses; in one that does not, it may cut where error recovery (which reads `#` and
 * regex characters as plain text) would have gone on, so such an error can cover fewer lines.
 */
import type { Location } from "./ast.js";
import { error, type Diagnostic } from "./diagnostic.js";

/**
 * How deep brackets may nest: inline children `( … )`, lists `[ … ]`, JSON objects and arrays, and
 * `{ … }` blocks, counted together. docs/language.md documents it.
 */
export const MAX_NESTING = 100;

/** One top-level statement (with the blank lines and comments before it) and where it starts. */
export interface Chunk {
  /** The text, without the line end that closes it. */
  text: string;
  /** Offset of its first character in the file. */
  offset: number;
  /** Its first line, counted as the parser counts lines (at "\n"). */
  line: number;
  /** Set when its brackets nest deeper than MAX_NESTING: the diagnostic, at the first such bracket. */
  tooDeep?: Diagnostic;
  /**
   * Its brackets balance and nest at most PLAIN_NESTING deep, and its strings and regexes close:
   * the text the parser without memoization may be given (parse.ts says why).
   */
  plain: boolean;
}

/**
 * How deep a plain statement nests. The parser's cost without memoization grows exponentially
 * with nesting only where it backtracks over unbalanced or unclosed text; up to this depth of
 * balanced brackets it stays linear in practice.
 */
export const PLAIN_NESTING = 4;

const NL = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
const QUOTE = 0x22;
const HASH = 0x23;
const SLASH = 0x2f;
const BACKSLASH = 0x5c;
const OPENERS = new Set([0x28, 0x5b, 0x7b]); // ( [ {
const CLOSERS = new Set([0x29, 0x5d, 0x7d]); // ) ] }

/** Cuts `text` into statements; `file` names it in diagnostics. */
export function splitStatements(text: string, file: string): Chunk[] {
  const chunks: Chunk[] = [];
  let start = 0;
  let startLine = 1;
  let line = 1;
  let lineStart = 0;
  let depth = 0;
  let tooDeep: Diagnostic | undefined;
  let rough = false;
  let i = 0;
  const n = text.length;
  const cut = (end: number, next: number) => {
    const plain = !rough && depth === 0;
    chunks.push({ text: text.slice(start, end), offset: start, line: startLine, ...(tooDeep ? { tooDeep } : {}), plain });
    start = next;
    startLine = line;
    tooDeep = undefined;
    rough = false;
  };
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === NL) {
      line++;
      lineStart = i + 1;
      if (depth === 0 && !continued(text, i)) cut(i > 0 && text.charCodeAt(i - 1) === CR ? i - 1 : i, i + 1);
      i++;
    } else if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (end === undefined) rough = true;
      i = end ?? i + 1;
    } else if (c === HASH) {
      i = lineEnd(text, i);
    } else if (c === SLASH && startsRegex(text, i)) {
      const end = regexEnd(text, i);
      if (end === undefined) rough = true;
      i = end ?? i + 1;
    } else {
      if (OPENERS.has(c)) {
        depth++;
        if (depth > PLAIN_NESTING) rough = true;
        if (depth > MAX_NESTING && !tooDeep) tooDeep = nestingError(file, i, line, i - lineStart + 1);
      } else if (CLOSERS.has(c)) {
        if (depth > 0) depth--;
        else rough = true;
      }
      i++;
    }
  }
  cut(n, n);
  return chunks;
}

function nestingError(file: string, offset: number, line: number, column: number): Diagnostic {
  const at: Location = { source: file, start: { offset, line, column }, end: { offset: offset + 1, line, column: column + 1 } };
  return error(`brackets nest deeper than ${MAX_NESTING} levels`, at, [
    `inline children, lists, JSON and { … } blocks nest at most ${MAX_NESTING} deep; this statement was not parsed`,
  ]);
}

/** Whether the line end at `nl` follows `\` and blanks: the statement goes on (the grammar's `_`). */
function continued(text: string, nl: number): boolean {
  let j = nl - 1;
  if (j >= 0 && text.charCodeAt(j) === CR) j--;
  while (j >= 0 && (text.charCodeAt(j) === SPACE || text.charCodeAt(j) === TAB)) j--;
  return j >= 0 && text.charCodeAt(j) === BACKSLASH;
}

/** Offset of the line end (or end of text) at or after `i`. */
function lineEnd(text: string, i: number): number {
  const nl = text.indexOf("\n", i);
  const end = nl < 0 ? text.length : nl;
  return end > i && text.charCodeAt(end - 1) === CR ? end - 1 : end;
}

/**
 * The offset after a string that starts at `i`, when the grammar would read one there (JsonString:
 * closed on its line, no control characters, valid escapes); undefined when it would not.
 */
function stringEnd(text: string, i: number): number | undefined {
  for (let j = i + 1; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === QUOTE) return j + 1;
    if (c < 0x20) return undefined;
    if (c === BACKSLASH) {
      const e = text[j + 1];
      if (e === "u") {
        if (!/^[0-9a-fA-F]{4}$/.test(text.slice(j + 2, j + 6))) return undefined;
        j += 5;
      } else if (e !== undefined && '"\\/bfnrt'.includes(e)) {
        j++;
      } else {
        return undefined;
      }
    }
  }
  return undefined;
}

/** A `/` after `error` and blanks starts the regex of an expectation (`-> error /…/`). */
function startsRegex(text: string, i: number): boolean {
  let j = i - 1;
  if (j < 0 || (text.charCodeAt(j) !== SPACE && text.charCodeAt(j) !== TAB)) return false;
  while (j >= 0 && (text.charCodeAt(j) === SPACE || text.charCodeAt(j) === TAB)) j--;
  return j >= 4 && text.slice(j - 4, j + 1) === "error" && (j === 4 || !/[A-Za-z0-9_.+$@%~*/:-]/.test(text[j - 5]!));
}

/** The offset after a regex starting at `i`, as the grammar's Regex reads it; undefined when it does not close on its line. */
function regexEnd(text: string, i: number): number | undefined {
  let j = i + 1;
  let inClass = false;
  for (; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === NL || c === CR) return undefined;
    if (c === BACKSLASH) {
      j++;
      if (j >= text.length || text.charCodeAt(j) === NL || text.charCodeAt(j) === CR) return undefined;
    } else if (inClass) {
      if (c === 0x5d) inClass = false;
    } else if (c === 0x5b) {
      inClass = true;
    } else if (c === SLASH) {
      return j > i + 1 ? j + 1 : undefined;
    }
  }
  return undefined;
}
