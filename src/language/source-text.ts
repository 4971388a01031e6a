/**
 * decodeScenarioText(): a scenario file's bytes → its text. A scenario is UTF-8 text; a file that is
 * not (a NUL byte, bytes that are not UTF-8) or that starts with a byte order mark gets one clear
 * diagnostic instead of a flood of syntax errors about characters nobody can see.
 */
import type { Location } from "./ast.js";
import { error, type Diagnostic } from "./diagnostic.js";
import { ScenarioError } from "./scenario-error.js";

const BOMS: ReadonlyArray<{ bytes: number[]; encoding: string }> = [
  { bytes: [0xef, 0xbb, 0xbf], encoding: "UTF-8" },
  { bytes: [0xff, 0xfe], encoding: "UTF-16LE" },
  { bytes: [0xfe, 0xff], encoding: "UTF-16BE" },
];

/**
 * The text of a scenario file. Throws ScenarioError (its `sourceText` safe to echo in the
 * diagnostic) when the bytes start with a byte order mark or are not UTF-8 text.
 */
export function decodeScenarioText(bytes: Uint8Array, file: string): string {
  const bom = BOMS.find((b) => b.bytes.every((x, i) => bytes[i] === x));
  if (bom) {
    throw new ScenarioError(
      [
        error("file starts with a byte order mark", at(file, 0, 1, 1), [
          `its first ${bom.bytes.length} bytes mark it as ${bom.encoding}; scenario files are UTF-8 without a byte order mark`,
        ]),
      ],
      { sourceText: "" },
    );
  }
  // The native decoder checks the whole file at once; only a file it refuses is walked byte by byte.
  if (bytes.indexOf(0) < 0) {
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      // not UTF-8: located below
    }
  }
  const bad = firstNonTextByte(bytes);
  if (bad === undefined) return new TextDecoder("utf-8").decode(bytes);
  // Line and column as the parser counts them: lines at "\n", columns in UTF-16 units.
  const before = new TextDecoder("utf-8").decode(bytes.subarray(0, bad));
  const lineStart = before.lastIndexOf("\n") + 1;
  const line = countNewlines(before) + 1;
  const shown = printable(new TextDecoder("utf-8").decode(bytes));
  throw new ScenarioError(
    [
      error("not a text file", at(file, before.length, line, before.length - lineStart + 1), [
        `byte 0x${bytes[bad]!.toString(16).padStart(2, "0")} at offset ${bad} ${bytes[bad] === 0 ? "is NUL" : "is not UTF-8"}; scenario files are UTF-8 text`,
      ]),
    ],
    { sourceText: shown },
  );
}

/** Offset of the first NUL byte or byte that is not part of valid UTF-8, if any. */
function firstNonTextByte(bytes: Uint8Array): number | undefined {
  const nul = bytes.indexOf(0);
  const end = nul < 0 ? bytes.length : nul;
  let i = 0;
  while (i < end) {
    const c = bytes[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    const len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (len === 0 || i + len > end) return i;
    for (let k = 1; k < len; k++) if ((bytes[i + k]! & 0xc0) !== 0x80) return i;
    const b1 = bytes[i + 1]!;
    // Overlong forms, surrogates and code points above U+10FFFF, as TextDecoder's fatal mode refuses them.
    if ((c === 0xe0 && b1 < 0xa0) || (c === 0xed && b1 > 0x9f) || (c === 0xf0 && b1 < 0x90) || (c === 0xf4 && b1 > 0x8f)) return i;
    i += len;
  }
  return nul < 0 ? undefined : nul;
}

function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf("\n"); i >= 0; i = s.indexOf("\n", i + 1)) n++;
  return n;
}

/** The text with control characters (but tabs and line ends) as U+FFFD: one unit each, so columns hold. */
function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, "\uFFFD");
}

function at(source: string, offset: number, line: number, column: number): Location {
  return { source, start: { offset, line, column }, end: { offset: offset + 1, line, column: column + 1 } };
}
