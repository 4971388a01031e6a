/**
 * JSON replies as transcripts print them, so that a golden diff shows the field that changed.
 *
 * The rule: members keep the order QEMU sent them in (its QDict's, which the model reproduces),
 * separated by `, ` and `: `. A value is written on one line when that line, from its first
 * column, fits in LINE_WIDTH characters; otherwise an object or list is broken: one member per
 * line, indented two spaces deeper than its opening line, each member again on one line when it
 * fits. A short reply therefore stays on its
 * `return:` line, and a long one (query-named-block-nodes, query-block-exports) puts each field
 * that does not fit into a short object on a line of its own.
 *
 * ```
 * return: [
 *   {
 *     "iops_rd": 0,
 *     "detect_zeroes": "off",
 *     "image": {
 *       "virtual-size": 1073741824,
 *       …
 *     },
 *     "cache": {"no-flush": false, "direct": false, "writeback": true},
 *     …
 * ```
 */

/** How wide a line may get, counted from the start of the line the value begins on. */
export const LINE_WIDTH = 100;

/**
 * `value` laid out by the rule above. `lead` is how many characters precede it on its first line
 * (`return: ` is 8); lines after the first are indented relative to that line's own indent, which
 * the caller adds (transcripts indent every output line by two).
 */
export function layoutJson(value: unknown, lead = 0, width = LINE_WIDTH): string {
  return layout(value, 0, lead, 0, width);
}

/** One line, QEMU-style separators: `{"a": 1, "b": [1, 2]}`. */
export function compactJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(compactJson).join(", ")}]`;
  if (isObject(value)) return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${compactJson(v)}`).join(", ")}}`;
  return JSON.stringify(value) ?? "null";
}

/**
 * `indent`: the indent of the line the value starts on; `used`: columns already used on it;
 * `trail`: characters that follow the value on its last line (a comma).
 */
function layout(value: unknown, indent: number, used: number, trail: number, width: number): string {
  const flat = compactJson(value);
  const entries = Array.isArray(value) ? value.map((v) => ["", v] as const) : isObject(value) ? Object.entries(value) : [];
  if (entries.length === 0 || used + flat.length + trail <= width) return flat;
  const inner = " ".repeat(indent + 2);
  const lines = entries.map(([k, v], i) => {
    const head = Array.isArray(value) ? "" : `${JSON.stringify(k)}: `;
    const comma = i < entries.length - 1 ? 1 : 0;
    return `${inner}${head}${layout(v, indent + 2, inner.length + head.length, comma, width)}${comma ? "," : ""}`;
  });
  const [open, close] = Array.isArray(value) ? ["[", "]"] : ["{", "}"];
  return `${open}\n${lines.join("\n")}\n${" ".repeat(indent)}${close}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A copy of a JSON value with every string passed through `f` (paths and auto names normalized). */
export function mapStrings(value: unknown, f: (s: string) => string): unknown {
  if (typeof value === "string") return f(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, f));
  if (isObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      Object.defineProperty(out, k, { value: mapStrings(v, f), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return value;
}
