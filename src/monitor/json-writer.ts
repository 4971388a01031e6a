/**
 * QEMU's compact JSON output (qobject/qjson.c `to_json`): `": "` and `", "` separators, non-ASCII
 * and control characters as upper-case `\uXXXX`, doubles as C's `%.17g`. Keys are written in the
 * order the object has them; producing QEMU's QDict order is the caller's business.
 */
import { QmpFloat } from "../qmp/wire.js";

/** One value as QEMU prints it. Undefined object members are left out, as JSON.stringify does. */
export function toQemuJson(value: unknown): string {
  if (value === null || value === undefined) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return value.toString();
    case "number":
      // A whole JS number is an integer in QEMU (a size past 2^53 in a model reply); doubles that
      // came in whole are QmpFloat, so only fractions and infinities are printed as doubles here.
      return Number.isInteger(value) ? BigInt(value).toString() : formatG17(value);
    case "string":
      return quote(value);
    case "object": {
      if (value instanceof QmpFloat) return formatG17(value.value);
      if (Array.isArray(value)) return `[${value.map(toQemuJson).join(", ")}]`;
      const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
      return `{${entries.map(([k, v]) => `${quote(k)}: ${toQemuJson(v)}`).join(", ")}}`;
    }
    default:
      throw new TypeError(`cannot write a ${typeof value} as QMP JSON`);
  }
}

/** to_json_str(). */
function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    switch (ch) {
      case '"': out += '\\"'; break;
      case "\\": out += "\\\\"; break;
      case "\b": out += "\\b"; break;
      case "\f": out += "\\f"; break;
      case "\n": out += "\\n"; break;
      case "\r": out += "\\r"; break;
      case "\t": out += "\\t"; break;
      default:
        if (cp > 0xffff) {
          const hi = 0xd800 + ((cp - 0x10000) >> 10);
          const lo = 0xdc00 + ((cp - 0x10000) & 0x3ff);
          out += `\\u${hex(hi)}\\u${hex(lo)}`;
        } else if (cp >= 0xd800 && cp <= 0xdfff) {
          out += "\\uFFFD"; // a lone surrogate is not valid UTF-8; QEMU writes the replacement character
        } else if (cp < 0x20 || cp >= 0x7f) {
          out += `\\u${hex(cp)}`;
        } else {
          out += ch;
        }
    }
  }
  return out + '"';
}

const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, "0");

/** C printf's `%.17g`. */
export function formatG17(x: number): string {
  if (Number.isNaN(x)) return x < 0 ? "-nan" : "nan";
  if (!Number.isFinite(x)) return x < 0 ? "-inf" : "inf";
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  const [mantissa, expText] = x.toExponential(16).split("e") as [string, string];
  const exp = Number(expText);
  const strip = (s: string) => (s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s);
  if (exp < -4 || exp >= 17) {
    const sign = exp < 0 ? "-" : "+";
    return `${strip(mantissa)}e${sign}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  return strip(x.toFixed(16 - exp));
}
