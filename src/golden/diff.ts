/**
 * Unified diffs for people: `diff -u` layout (3 lines of context), whitespace made visible on changed
 * lines (trailing blanks as `·`, tabs as `→`, jsdiff's "\ No newline at end of file" kept), and on a
 * colour terminal the changed words of a changed line pair highlighted. Word highlights use
 * diffWordsWithSpace, not diffWords, so a change of spacing alone is still highlighted.
 */
import { diffWordsWithSpace, structuredPatch, type StructuredPatchHunk } from "diff";

export interface DiffOptions {
  /** Label of the expected side, e.g. the golden file's path. */
  expectedLabel: string;
  /** Label of the actual side, e.g. "actual (model)". */
  actualLabel: string;
  /** ANSI colours (only when writing to a terminal). */
  color: boolean;
}

const CONTEXT_LINES = 3;
const ansi = {
  red: (s: string) => `\x1b[31m${s}\x1b[39m`,
  green: (s: string) => `\x1b[32m${s}\x1b[39m`,
  cyan: (s: string) => `\x1b[36m${s}\x1b[39m`,
  bold: (s: string) => `\x1b[1m${s}\x1b[22m`,
  inverse: (s: string) => `\x1b[7m${s}\x1b[27m`,
};

/** The diff text (ending with a newline), or "" when the two are equal. */
export function renderDiff(expected: string, actual: string, opts: DiffOptions): string {
  if (expected === actual) return "";
  const patch = structuredPatch(opts.expectedLabel, opts.actualLabel, expected, actual, undefined, undefined, {
    context: CONTEXT_LINES,
  });
  const paint = opts.color ? ansi : plain;
  const out = [paint.bold(`--- ${opts.expectedLabel}`), paint.bold(`+++ ${opts.actualLabel}`)];
  for (const h of patch.hunks) out.push(renderHunk(h, opts.color));
  return out.join("\n") + "\n";
}

/** One hunk of a structured patch (its `@@` line and its lines, no final newline), as renderDiff shows it. */
export function renderHunk(h: StructuredPatchHunk, color: boolean, note = ""): string {
  const paint = color ? ansi : plain;
  const head = paint.cyan(`@@ -${range(h.oldStart, h.oldLines)} +${range(h.newStart, h.newLines)} @@${note ? ` ${note}` : ""}`);
  return [head, ...renderHunkLines(h.lines, color)].join("\n");
}

const plain = { red: id, green: id, cyan: id, bold: id, inverse: id };

function range(start: number, lines: number): string {
  return lines === 1 ? `${start}` : `${lines === 0 ? start : start},${lines}`;
}

function id(s: string): string {
  return s;
}

/** Hunk lines; a run of `-` lines followed by as many `+` lines is shown as changed pairs. */
function renderHunkLines(lines: readonly string[], color: boolean): string[] {
  const out: string[] = [];
  for (let i = 0; i < lines.length; ) {
    const line = lines[i]!;
    if (line.startsWith("-")) {
      let j = i;
      while (j < lines.length && lines[j]!.startsWith("-")) j++;
      let k = j;
      while (k < lines.length && lines[k]!.startsWith("+")) k++;
      const removed = lines.slice(i, j);
      const added = lines.slice(j, k);
      if (color && removed.length === added.length) {
        removed.forEach((r, n) => out.push(...highlightPair(r.slice(1), added[n]!.slice(1))));
      } else {
        out.push(...removed.map((r) => plainChanged("-", r.slice(1), color)));
        out.push(...added.map((a) => plainChanged("+", a.slice(1), color)));
      }
      i = k;
    } else if (line.startsWith("+")) {
      out.push(plainChanged("+", line.slice(1), color));
      i++;
    } else {
      out.push(line);
      i++;
    }
  }
  return out;
}

function plainChanged(sign: "-" | "+", text: string, color: boolean): string {
  const line = sign + visibleWhitespace(text);
  if (!color) return line;
  return sign === "-" ? ansi.red(line) : ansi.green(line);
}

/** A changed line pair with the differing parts in inverse video. */
function highlightPair(before: string, after: string): string[] {
  const parts = diffWordsWithSpace(before, after);
  let minus = "";
  let plus = "";
  for (const p of parts) {
    if (p.removed) minus += ansi.inverse(showAllWhitespace(p.value));
    else if (p.added) plus += ansi.inverse(showAllWhitespace(p.value));
    else {
      minus += p.value;
      plus += p.value;
    }
  }
  return [ansi.red("-" + visibleWhitespace(minus)), ansi.green("+" + visibleWhitespace(plus))];
}

/** Tabs anywhere and blanks at the end of the line become visible marks. */
export function visibleWhitespace(text: string): string {
  const trailing = /[ \t]+((?:\x1b\[[0-9;]*m)*)$/.exec(text);
  let body = text;
  let tail = "";
  if (trailing) {
    body = text.slice(0, trailing.index);
    tail = showAllWhitespace(trailing[0].slice(0, trailing[0].length - trailing[1]!.length)) + trailing[1];
  }
  return body.replace(/\t/g, "→") + tail;
}

function showAllWhitespace(text: string): string {
  return text.replace(/ /g, "·").replace(/\t/g, "→");
}
