/**
 * QEMU 7.2's JSON parser (qobject/json-parser.c) over the tokens of one streamed message: the same
 * values (integers beyond 2^53 become bigint, as QEMU keeps them as 64-bit integers), the same
 * extensions (single-quoted strings, `\'`), and the same first error ("JSON parse error, …").
 */
import { QmpFloat } from "../qmp/wire.js";
import type { Token } from "./json-lexer.js";

/**
 * A parsed QMP value: plain JSON, except that integers outside the safe range are bigint and a
 * float with a whole value (`1e3`, `-0.0`) is a QmpFloat, as QEMU keeps both apart from integers.
 */
export type QmpValue = null | boolean | number | bigint | QmpFloat | string | QmpValue[] | { [key: string]: QmpValue };

class ParseError extends Error {}

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const U64_MAX = 2n ** 64n - 1n;

/** Parse one message's tokens; QEMU's error text on failure. */
export function parseTokens(tokens: Token[]): { value: QmpValue } | { error: string } {
  const p = new Parser(tokens);
  try {
    return { value: p.value() };
  } catch (e) {
    if (e instanceof ParseError) return { error: `JSON parse error, ${e.message}` };
    throw e;
  }
}

class Parser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private pop(): Token {
    const t = this.tokens[this.pos++];
    if (!t) throw new ParseError("premature EOI");
    return t;
  }

  value(): QmpValue {
    const t = this.peek();
    if (!t) throw new ParseError("premature EOI");
    switch (t.type) {
      case "lcurly":
        return this.object();
      case "lsquare":
        return this.array();
      case "integer":
      case "float":
      case "string":
        this.pos++;
        return literal(t);
      case "keyword": {
        this.pos++;
        const word = t.text.toString("latin1");
        if (word === "true") return true;
        if (word === "false") return false;
        if (word === "null") return null;
        throw new ParseError(`invalid keyword '${word}'`);
      }
      default:
        throw new ParseError("expecting value");
    }
  }

  private object(): QmpValue {
    this.pop();
    const dict: { [key: string]: QmpValue } = {};
    if (!this.peek()) throw new ParseError("premature EOI");
    if (this.peek()!.type === "rcurly") {
      this.pop();
      return dict;
    }
    this.pair(dict);
    for (let t = this.pop(); t.type !== "rcurly"; t = this.pop()) {
      if (t.type !== "comma") throw new ParseError("expected separator in dict");
      this.pair(dict);
    }
    return dict;
  }

  private pair(dict: { [key: string]: QmpValue }): void {
    if (!this.peek()) throw new ParseError("premature EOI");
    const key = this.value();
    if (typeof key !== "string") throw new ParseError("key is not a string in object");
    if (this.pop().type !== "colon") throw new ParseError("missing : in object pair");
    const value = this.value();
    if (Object.prototype.hasOwnProperty.call(dict, key)) throw new ParseError("duplicate key");
    Object.defineProperty(dict, key, { value, enumerable: true, writable: true, configurable: true });
  }

  private array(): QmpValue {
    this.pop();
    const list: QmpValue[] = [];
    if (!this.peek()) throw new ParseError("premature EOI");
    if (this.peek()!.type === "rsquare") {
      this.pop();
      return list;
    }
    list.push(this.value());
    for (let t = this.pop(); t.type !== "rsquare"; t = this.pop()) {
      if (t.type !== "comma") throw new ParseError("expected separator in list");
      list.push(this.value());
    }
    return list;
  }
}

function literal(t: Token): QmpValue {
  const text = t.text.toString("latin1");
  if (t.type === "string") return parseString(t.text);
  if (t.type === "integer") {
    // int64 if it fits, else uint64 (non-negative only), else a double: QEMU's QNum kinds.
    const n = BigInt(text);
    if ((n >= I64_MIN && n <= I64_MAX) || (n >= 0n && n <= U64_MAX)) {
      return Number.isSafeInteger(Number(n)) ? Number(n) : n;
    }
  }
  // A JSON_FLOAT token, or an integer too large for 64 bits: QEMU parses both with strtod.
  const double = Number(text);
  return Number.isInteger(double) ? new QmpFloat(double) : double;
}

/** The one-character escapes QEMU accepts, by the byte after the backslash (`\'` is its extension). */
const SIMPLE_ESCAPES: Record<number, string> = {
  0x22: '"', 0x27: "'", 0x5c: "\\", 0x2f: "/", 0x62: "\b", 0x66: "\f", 0x6e: "\n", 0x72: "\r", 0x74: "\t",
};

/**
 * parse_string(): escapes, surrogate pairs, and QEMU's modified-UTF-8 checks. Runs of plain ASCII
 * are decoded as one slice each and the pieces joined once, so a long string is not built one
 * character at a time.
 */
function parseString(raw: Buffer): string {
  const quote = raw[0]!;
  const parts: string[] = [];
  let i = 1;
  while (raw[i] !== quote) {
    const run = i;
    while (raw[i]! < 0x80 && raw[i] !== 0x5c && raw[i] !== quote) i++;
    if (i > run) {
      parts.push(raw.toString("latin1", run, i));
      continue;
    }
    const c = raw[i]!;
    if (c === 0x5c) {
      const beg = i;
      const e = raw[i + 1]!;
      i += 2;
      const simple = SIMPLE_ESCAPES[e];
      if (simple !== undefined) {
        parts.push(simple);
        continue;
      }
      if (e !== 0x75) throw new ParseError("invalid escape sequence in string");
      let cp = hex4(raw, i);
      i += 4;
      if (cp >= 0xd800 && cp <= 0xdbff && raw[i] === 0x5c && raw[i + 1] === 0x75) {
        const trailing = hex4(raw, i + 2);
        if (trailing >= 0xdc00 && trailing <= 0xdfff) {
          cp = 0x10000 + ((cp & 0x3ff) << 10) + (trailing & 0x3ff);
          i += 6;
        } else {
          cp = -1;
        }
      }
      if (cp < 0 || (cp >= 0xd800 && cp <= 0xdfff)) {
        throw new ParseError(`${raw.subarray(beg, i).toString("latin1")} is not a valid Unicode character`);
      }
      parts.push(String.fromCodePoint(cp));
      continue;
    }
    const { cp, next } = utf8Codepoint(raw, i);
    if (cp < 0) throw new ParseError("invalid UTF-8 sequence in string");
    parts.push(String.fromCodePoint(cp));
    i = next;
  }
  return parts.join("");
}

function hex4(raw: Buffer, at: number): number {
  const s = raw.subarray(at, at + 4).toString("latin1");
  return /^[0-9a-fA-F]{4}$/.test(s) ? parseInt(s, 16) : -1;
}

/** mod_utf8_codepoint(): one code point; overlong forms (except C0 80 for U+0000), surrogates and >U+10FFFF are invalid. */
function utf8Codepoint(raw: Buffer, i: number): { cp: number; next: number } {
  const c = raw[i]!;
  if (c < 0x80) return { cp: c, next: i + 1 };
  const len = c >= 0xf0 && c < 0xf8 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
  if (len === 0 || c >= 0xf8) return { cp: -1, next: i + 1 };
  let cp = c & (0x7f >> len);
  for (let k = 1; k < len; k++) {
    const b = raw[i + k];
    if (b === undefined || (b & 0xc0) !== 0x80) return { cp: -1, next: i + k };
    cp = (cp << 6) | (b & 0x3f);
  }
  const min = [0, 0, 0x80, 0x800, 0x10000][len]!;
  if (len === 2 && c === 0xc0 && raw[i + 1] === 0x80) return { cp: 0, next: i + 2 };
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return { cp: -1, next: i + len };
  return { cp, next: i + len };
}
