/**
 * Numbers in and out of qemu-io: `cvtnum` (util/cutils.c `qemu_strtosz`: decimal or hex, a
 * fraction, a K/M/G/T/P/E suffix of 1024), `strtol(…, 0)` for patterns and sleep, and the sizes it
 * prints (`cvtstr`: "64 KiB", "1.500 MiB", "512 bytes").
 */
import { ModelIoUnsupportedError } from "../data/io-error.js";

/**
 * What `cvtnum` gives: a value (with the deprecation warning a suffixed hex number earns, which HMP
 * prints on the monitor), or the error `print_cvtnum_err` reports.
 */
export type Cvtnum = { value: number; warning?: string } | { error: "EINVAL" | "ERANGE" };

const UINT64_MAX = (1n << 64n) - 1n;
const INT64_MAX = (1n << 63n) - 1n;
const SUFFIX = "BKMGTPE";

/** glibc `strtoull(s, &end, base)` on a string without NUL: value (wrapping), where it stopped, overflow. */
function strtoull(s: string, base: 10 | 16): { value: bigint; end: number; overflow: boolean; negative: boolean } {
  let i = 0;
  while (i < s.length && " \t\n\v\f\r".includes(s[i]!)) i++;
  let negative = false;
  if (s[i] === "+" || s[i] === "-") negative = s[i++] === "-";
  if (base === 16 && s[i] === "0" && (s[i + 1] === "x" || s[i + 1] === "X") && /[0-9a-fA-F]/.test(s[i + 2] ?? "")) i += 2;
  const digits = base === 16 ? /[0-9a-fA-F]/ : /[0-9]/;
  const start = i;
  let value = 0n;
  let overflow = false;
  while (i < s.length && digits.test(s[i]!)) {
    value = value * BigInt(base) + BigInt(parseInt(s[i]!, base));
    if (value > UINT64_MAX) overflow = true;
    i++;
  }
  if (i === start) return { value: 0n, end: 0, overflow: false, negative: false };
  return { value: overflow ? UINT64_MAX : negative ? (-value & UINT64_MAX) : value, end: i, overflow, negative };
}

/** `qemu_strtosz(s, NULL, …)` then qemu-io's `cvtnum` check against INT64_MAX. */
export function cvtnum(s: string): Cvtnum {
  const dec = strtoull(s, 10);
  if (dec.end === 0) return { error: "EINVAL" };
  if (dec.overflow) return { error: "ERANGE" };
  if (s.slice(0, dec.end).includes("-")) return { error: "EINVAL" };
  let val = dec.value;
  let end = dec.end;
  let hex = false;
  let fraction = 0;
  if (val === 0n && (s[end] === "x" || s[end] === "X")) {
    const h = strtoull(s, 16);
    if (h.overflow) return { error: "ERANGE" };
    val = h.value;
    end = h.end;
    if (s[end] === ".") return { error: "EINVAL" };
    hex = true;
  } else if (s[end] === ".") {
    const m = /^\.[0-9]*([eE][+-]?[0-9]+)?/.exec(s.slice(end))!;
    if (m[1]) return { error: "EINVAL" };
    fraction = Number(`0${m[0]}`);
    end += m[0].length;
  }
  const c = s[end];
  const suffix = c === undefined ? -1 : SUFFIX.indexOf(c.toUpperCase());
  const mul = suffix >= 0 ? 1024n ** BigInt(suffix) : 1n;
  const warning = suffix >= 0 && hex ? `warning: Using a multiplier suffix on hex numbers is deprecated: ${s}` : undefined;
  if (suffix >= 0) end++;
  if (end !== s.length) return { error: "EINVAL" };
  let result: bigint;
  if (mul === 1n) {
    if (fraction !== 0) return { error: "EINVAL" };
    result = val;
  } else {
    // 64.64 fixed point times the multiplier, rounding half up, as do_strtosz computes it.
    const frac = BigInt(Math.floor(fraction * 2 ** 64));
    const prod = frac * mul;
    result = val * mul + (prod >> 64n) + ((prod >> 63n) & 1n);
    if (result > UINT64_MAX) return { error: "ERANGE" };
  }
  if (result > INT64_MAX) return { error: "ERANGE" };
  return warning ? { value: Number(result), warning } : { value: Number(result) };
}

/**
 * A qemu-io offset or length as the model's data path takes it: a double, exact up to 2^53. QEMU's
 * are int64; a larger one would be rounded, so the model refuses it.
 */
export function exactIoNumber(n: number, arg: string): number {
  if (n > Number.MAX_SAFE_INTEGER) throw new ModelIoUnsupportedError(`qemu-io numbers above 2^53 (${arg})`);
  return n;
}

/** `print_cvtnum_err`. */
export function cvtnumError(error: "EINVAL" | "ERANGE", arg: string): string {
  return error === "EINVAL"
    ? `Parsing error: non-numeric argument, or extraneous/unrecognized suffix -- ${arg}`
    : `Parsing error: argument too large -- ${arg}`;
}

/** glibc `strtol(s, &end, 0)`: the value (saturated to long) and whether the whole string was used. */
export function strtol0(s: string): { value: number; complete: boolean } {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(s);
  if (!m) return { value: 0, complete: s.length === 0 };
  const body = m[2]!;
  let v = body.startsWith("0x") || body.startsWith("0X") ? BigInt(body) : body.length > 1 && body[0] === "0" ? BigInt(`0o${body.slice(1)}`) : BigInt(body);
  if (m[1] === "-") v = -v;
  const LONG_MAX = (1n << 63n) - 1n;
  if (v > LONG_MAX) v = LONG_MAX;
  if (v < -LONG_MAX - 1n) v = -LONG_MAX - 1n;
  return { value: Number(v), complete: m[0].length === s.length };
}

/** `cvtstr`: a byte count as qemu-io prints it. */
export function cvtstr(value: number): string {
  const units: [number, string][] = [
    [2 ** 60, " EiB"],
    [2 ** 50, " PiB"],
    [2 ** 40, " TiB"],
    [2 ** 30, " GiB"],
    [2 ** 20, " MiB"],
    [2 ** 10, " KiB"],
  ];
  for (const [unit, suffix] of units) {
    if (value >= unit) return trim(cFixed(value / unit, 3), suffix);
  }
  return trim(cFixed(value, 6), " bytes");
}

/**
 * glibc's printf("%.Nf"): the exact binary value rounded half to even (3.0625 → "3.062", where
 * JavaScript's toFixed says "3.063"), and "inf" for an infinite value.
 */
export function cFixed(value: number, digits: number): string {
  if (!Number.isFinite(value)) return value > 0 ? "inf" : value < 0 ? "-inf" : "-nan";
  const bits = new DataView(new ArrayBuffer(8));
  bits.setFloat64(0, Math.abs(value));
  const hi = bits.getUint32(0);
  const exp = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(bits.getUint32(4));
  let e = exp - 1075;
  if (exp === 0) e = -1074;
  else mant |= 1n << 52n;
  // |value| * 10^digits = mant * 10^digits * 2^e, rounded half to even.
  const num = mant * 10n ** BigInt(digits);
  let q: bigint;
  if (e >= 0) {
    q = num << BigInt(e);
  } else {
    const den = 1n << BigInt(-e);
    q = num / den;
    const twice = (num % den) * 2n;
    if (twice > den || (twice === den && q % 2n === 1n)) q += 1n;
  }
  const text = q.toString().padStart(digits + 1, "0");
  const body = digits > 0 ? `${text.slice(0, -digits)}.${text.slice(-digits)}` : text;
  return value < 0 || Object.is(value, -0) ? `-${body}` : body;
}

/** cvtstr's tail: ".000" goes (with everything after it), then the suffix. */
function trim(num: string, suffix: string): string {
  const at = num.indexOf(".000");
  return at >= 0 ? num.slice(0, at) + suffix : num + suffix;
}
