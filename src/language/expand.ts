/**
 * expandParameters(): one scenario per combination of `each` values, with `$name` substituted.
 */
import type { NodeRef, Scenario, Value } from "./ast.js";
import { substitute } from "./parameters.js";
import { parameterFree } from "./walk.js";

/** One run of a parameterized scenario. */
export interface Expansion {
  /** Variable → value for this run ({} without `each`). */
  bindings: Record<string, string>;
  /** The scenario with every `$name` replaced (statement `text` included). */
  scenario: Scenario;
  /** "fmt=qcow2" (several joined with ","), for golden file names; "" without `each`. */
  suffix: string;
}

/**
 * One entry per value of each `each` (the cartesian product, first `each` outermost, values in
 * the order written). A scenario without `each` gives one entry with bindings {} and suffix "".
 */
export function expandParameters(scenario: Scenario): Expansion[] {
  // Nothing to substitute: the copy-on-write walk below would return the scenario itself.
  if (!scenario.statements.some((s) => s.type === "each") && parameterFree(scenario)) return [{ bindings: {}, scenario, suffix: "" }];
  let combos: Array<Array<[string, string]>> = [[]];
  for (const s of scenario.statements) {
    if (s.type !== "each") continue;
    combos = combos.flatMap((c) => s.values.map((v) => [...c, [s.variable.name, v.value] as [string, string]]));
  }
  return combos.map((pairs) => {
    const bindings = Object.fromEntries(pairs);
    return {
      bindings,
      scenario: substituteNode(scenario, bindings),
      suffix: pairs.map(([k, v]) => `${k}=${v}`).join(","),
    };
  });
}

const SIZE_SUFFIX: Record<string, number> = { "": 1, k: 1024, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/**
 * An AST node with every bound `$name` substituted; locations are kept. Copy on write: a node in
 * which nothing changes is returned as it is, so a scenario without `$` costs no copy at all, and
 * nothing is ever modified in place. Iterative, with an explicit stack: a scenario built in memory
 * may nest deeper than the call stack.
 */
function substituteNode<T>(root: T, bindings: Record<string, string>): T {
  const first = leaf(root, bindings);
  if (first.done) return first.value as T;
  interface Frame {
    node: object;
    keys: Array<string | number>;
    next: number;
    values: unknown[];
    changed: boolean;
  }
  const frame = (node: object): Frame => ({
    node,
    keys: Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node).filter((k) => !KEPT.has(k)),
    next: 0,
    values: [],
    changed: false,
  });
  const stack: Frame[] = [frame(root as object)];
  let finished: unknown;
  for (;;) {
    const top = stack[stack.length - 1]!;
    if (top.next < top.keys.length) {
      const child = (top.node as Record<string | number, unknown>)[top.keys[top.next]!];
      const r = leaf(child, bindings);
      if (r.done) {
        top.values.push(r.value);
        top.changed ||= r.value !== child;
        top.next++;
      } else {
        stack.push(frame(child as object));
      }
      continue;
    }
    stack.pop();
    const result = top.changed ? rebuilt(top.node, top.keys, top.values) : top.node;
    const parent = stack[stack.length - 1];
    if (!parent) {
      finished = result;
      break;
    }
    parent.values.push(result);
    parent.changed ||= result !== top.node;
    parent.next++;
  }
  return finished as T;
}

/** Keys whose values are never substituted. */
const KEPT = new Set(["location", "keyLocation", "type"]);

/** The substituted value of `v` when it needs no walk below it (a string, a JSON value, a word, a node reference). */
function leaf(v: unknown, bindings: Record<string, string>): { done: true; value: unknown } | { done: false } {
  if (typeof v === "string") return { done: true, value: substitute(v, bindings) };
  if (v === null || typeof v !== "object") return { done: true, value: v };
  if (Array.isArray(v)) return { done: false };
  const n = v as Record<string, unknown>;
  if (n.type === "json") {
    let value = substituteJson(n.value, bindings);
    for (const path of (n.params as Array<Array<string | number>> | undefined) ?? []) {
      // The path's keys are substituted as the object's keys were.
      value = retypedAt(value, path.map((k) => (typeof k === "string" ? substitute(k, bindings) : k)));
    }
    return { done: true, value: value === n.value ? v : { ...n, value } };
  }
  if (n.type === "word" && typeof n.value === "string" && n.value.includes("$")) {
    return { done: true, value: retype({ ...n, value: substitute(n.value, bindings) } as never) };
  }
  if (n.type === "noderef" && typeof n.text === "string") {
    const text = substitute(n.text, bindings);
    if (text === n.text) return { done: true, value: v };
    // A node reference's root and path follow from its substituted text.
    const [root, ...path] = text.split("/");
    return { done: true, value: { ...n, text, root, path } satisfies Partial<NodeRef> };
  }
  return { done: false };
}

/** A copy of `node` with the values of `keys` replaced, keys in their order. */
function rebuilt(node: object, keys: Array<string | number>, values: unknown[]): unknown {
  if (Array.isArray(node)) return values;
  const byKey = new Map(keys.map((k, i) => [k, values[i]]));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = byKey.has(k) ? byKey.get(k) : v;
  return out;
}

/** A word that became a number, a boolean or null once substituted (`size=$size`) takes that type. */
function retype(word: { type: "word"; value: string; location: Value["location"] }): Value {
  const { value, location } = word;
  const num = /^(-?[0-9]+)([kKMGT]?)$/.exec(value);
  if (num) return { type: "number", value: Number(num[1]) * SIZE_SUFFIX[num[2]!]!, raw: value, location };
  if (value === "on" || value === "off" || value === "true" || value === "false") {
    return { type: "bool", value: value === "on" || value === "true", raw: value, location };
  }
  if (value === "null") return { type: "null", location };
  return word;
}

/** `value` with the string at `path` (a bare parameter, substituted) made what it reads as; copies along the path. */
function retypedAt(value: unknown, path: ReadonlyArray<string | number>): unknown {
  if (path.length === 0) return typeof value === "string" ? jsonParameterValue(value) : value;
  const [key, ...rest] = path;
  const holder = value as Record<string | number, unknown>;
  const inner = retypedAt(holder[key!], rest);
  if (inner === holder[key!]) return value;
  if (Array.isArray(value)) return value.map((x, i) => (i === key ? inner : x));
  const out = {};
  for (const [k, x] of Object.entries(value as object)) put(out, k, k === key ? inner : x);
  return out;
}

/**
 * What a bare parameter's value reads as in JSON: an integer (with the size suffixes words take),
 * a JSON number, `true`, `false` or `null`; else a string. An unbound name stays its text.
 */
function jsonParameterValue(text: string): unknown {
  const size = /^(-?[0-9]+)([kKMGT]?)$/.exec(text);
  if (size) return Number(size[1]) * SIZE_SUFFIX[size[2]!]!;
  if (/^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$/.test(text)) return Number(text);
  if (text === "true" || text === "false") return text === "true";
  if (text === "null") return null;
  return text;
}

/**
 * A JSON value with `$name` substituted in its strings, keys included (the transcript shows the
 * statement substituted, so the command sent must be that one); the same value when nothing
 * changes. Recursive: the parser's nesting limit bounds a JSON value's depth.
 */
function substituteJson(value: unknown, bindings: Record<string, string>): unknown {
  if (typeof value === "string") return substitute(value, bindings);
  if (Array.isArray(value)) {
    const items = value.map((v) => substituteJson(v, bindings));
    return items.some((v, i) => v !== value[i]) ? items : value;
  }
  if (value === null || typeof value !== "object") return value;
  const entries = Object.entries(value).map(([k, v]) => [substitute(k, bindings), substituteJson(v, bindings)] as const);
  const before = Object.entries(value);
  if (entries.every(([k, v], i) => k === before[i]![0] && v === before[i]![1])) return value;
  const out = {};
  for (const [k, v] of entries) put(out, k, v);
  return out;
}

/** Sets an own property, even one called `__proto__` (a JSON object may have that key). */
function put(holder: object, key: string | number, value: unknown): void {
  Object.defineProperty(holder, key, { value, writable: true, enumerable: true, configurable: true });
}
