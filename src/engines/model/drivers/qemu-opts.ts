/**
 * `qemu_opts_absorb_qdict` for a driver's runtime options (util/qemu-option.c): the QDict's values
 * become the strings QemuOpts keeps, parsed by each option's type; the first value that does not
 * parse fails with QemuOpts' message, in the QDict's iteration order. What was absorbed is deleted
 * from the options, as QEMU deletes it.
 */
import { qdictKeyOrder } from "../../../qapi/qdict-order.js";
import type { Flat } from "../graph.js";
import { fail, QmpFailure } from "../qmp-failure.js";
import { cvtnum } from "../qemu-io/numbers.js";

export type QemuOptType = "bool" | "number" | "size" | "string";

/** An option's value as QemuOpts parsed it. */
export type QemuOptValue = boolean | bigint | string;

const UINT64_MAX = (1n << 64n) - 1n;

/** What parse_option_size appends to a size that does not parse (error_append_hint). */
export const SIZE_SUFFIX_HINT = "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively.";

/** The absorbed options, by name, with the typed getters QEMU's drivers use. */
export class QemuOpts {
  constructor(private readonly values: ReadonlyMap<string, QemuOptValue>) {}

  /** `qemu_opt_get(opts, name) != NULL`. */
  has(name: string): boolean {
    return this.values.has(name);
  }

  /** `qemu_opt_get_bool`. */
  bool(name: string, fallback: boolean): boolean {
    const v = this.values.get(name);
    return typeof v === "boolean" ? v : fallback;
  }

  /** `qemu_opt_get_number` / `qemu_opt_get_size`: a uint64. */
  uint(name: string, fallback: bigint): bigint {
    const v = this.values.get(name);
    return typeof v === "bigint" ? v : fallback;
  }

  /** `qemu_opt_get`: a string option as given. */
  str(name: string): string | undefined {
    const v = this.values.get(name);
    return typeof v === "string" ? v : undefined;
  }
}

/** `qemu_opts_absorb_qdict(opts, options)` for the options in `desc`; deletes what it absorbs. */
export function absorbQemuOpts(options: Flat, desc: Readonly<Record<string, QemuOptType>>): QemuOpts {
  const values = new Map<string, QemuOptValue>();
  for (const key of qdictKeyOrder(Object.keys(options).filter((k) => k in desc))) {
    values.set(key, parseOpt(key, desc[key]!, optString(options[key])));
    delete options[key];
  }
  return new QemuOpts(values);
}

/** `qemu_opts_from_qdict_entry`: how a QObject becomes the option's string. */
function optString(v: unknown): string {
  if (typeof v === "boolean") return v ? "on" : "off";
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  return String(v);
}

/** `qemu_opt_parse` by the option's type. */
function parseOpt(name: string, type: QemuOptType, value: string): QemuOptValue {
  switch (type) {
    case "string":
      return value;
    case "bool":
      // qapi_bool_parse.
      if (["on", "yes", "true", "y"].includes(value)) return true;
      if (["off", "no", "false", "n"].includes(value)) return false;
      return fail(`Parameter '${name}' expects 'on' or 'off'`);
    case "number":
      return parseOptionNumber(name, value);
    case "size":
      return parseOptionSize(name, value);
  }
}

/** `parse_option_number`: qemu_strtou64(value, NULL, 0), which wraps a negative number around. */
function parseOptionNumber(name: string, value: string): bigint {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX](?=[0-9a-fA-F])[0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(value);
  if (!m) return fail(`Parameter '${name}' expects a number`);
  const digits = m[2]!;
  const magnitude = /^0[xX]/.test(digits) ? BigInt(digits) : digits.length > 1 && digits[0] === "0" ? BigInt(`0o${digits.slice(1)}`) : BigInt(digits);
  if (magnitude > UINT64_MAX) return fail(`Value '${value}' is too large for parameter '${name}'`);
  return m[1] === "-" ? -magnitude & UINT64_MAX : magnitude;
}

/** `parse_option_size`: qemu_strtosz, a size below 2^64. */
function parseOptionSize(name: string, value: string): bigint {
  // A QNum arrives as its decimal digits; only strings (inherited or from a json: name) need strtosz.
  if (/^[0-9]+$/.test(value)) {
    const n = BigInt(value);
    if (n > UINT64_MAX) fail(`Value '${value}' is out of range for parameter '${name}'`);
    return n;
  }
  const r = cvtnum(value);
  if ("error" in r) {
    if (r.error === "ERANGE") fail(`Value '${value}' is out of range for parameter '${name}'`);
    // QMP drops the hint; qemu-io's `reopen -o` prints it.
    const e = new QmpFailure(`Parameter '${name}' expects a non-negative number below 2^64`);
    e.hint = SIZE_SUFFIX_HINT;
    throw e;
  }
  return BigInt(r.value);
}
