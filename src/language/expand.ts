/**
 * expandParameters(): one scenario per combination of `each` values, with `$name` substituted.
 */
import type { NodeRef, Scenario, Value } from "./ast.js";
import { substitute } from "./parameters.js";

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
 * A deep copy of an AST node with every bound `$name` substituted; locations are kept (shared).
 * Iterative, with an explicit stack: a scenario built in memory may nest deeper than the call stack.
 */
function substituteNode<T>(root: T, bindings: Record<string, string>): T {
  const top: { value?: unknown } = {};
  // Each entry: a value of the source tree, and the slot of the copy it goes into.
  const stack: Array<[unknown, Record<string | number, unknown>, string | number]> = [[root, top, "value"]];
  while (stack.length > 0) {
    const [node, holder, slot] = stack.pop()!;
    if (typeof node === "string") {
      holder[slot] = substitute(node, bindings);
    } else if (node === null || typeof node !== "object") {
      holder[slot] = node;
    } else if (Array.isArray(node)) {
      const out: unknown[] = new Array(node.length);
      holder[slot] = out;
      for (let i = node.length - 1; i >= 0; i--) stack.push([node[i], out as never, i]);
    } else {
      holder[slot] = copyObject(node as Record<string, unknown>, bindings, stack);
    }
  }
  return top.value as T;
}

/** One AST object copied: leaves substituted now, objects and arrays pushed for later. */
function copyObject(
  n: Record<string, unknown>,
  bindings: Record<string, string>,
  stack: Array<[unknown, Record<string | number, unknown>, string | number]>,
): unknown {
  if (n.type === "json") return { ...n, value: substituteJson(n.value, bindings) };
  if (n.type === "word" && typeof n.value === "string" && n.value.includes("$")) {
    return retype({ ...n, value: substitute(n.value, bindings) } as never);
  }
  const out: Record<string, unknown> = {};
  // A node reference's root and path follow from its substituted text.
  const ref = n.type === "noderef" && typeof n.text === "string" ? substitute(n.text, bindings).split("/") : undefined;
  for (const [k, v] of Object.entries(n)) {
    if (k === "location" || k === "keyLocation" || k === "type") out[k] = v;
    else if (ref && k === "root") out[k] = ref[0];
    else if (ref && k === "path") out[k] = ref.slice(1) satisfies NodeRef["path"];
    else if (typeof v === "string") out[k] = substitute(v, bindings);
    else if (v === null || typeof v !== "object") out[k] = v;
    else {
      out[k] = undefined; // keeps the key's place in the object
      stack.push([v, out, k]);
    }
  }
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

/** A copy of a JSON value with `$name` substituted in its strings (keys stay as written). Iterative, like substituteNode. */
function substituteJson(value: unknown, bindings: Record<string, string>): unknown {
  const top: { value?: unknown } = {};
  const stack: Array<[unknown, object, string | number]> = [[value, top, "value"]];
  while (stack.length > 0) {
    const [v, holder, slot] = stack.pop()!;
    if (typeof v === "string") {
      put(holder, slot, substitute(v, bindings));
    } else if (Array.isArray(v)) {
      const out: unknown[] = new Array(v.length);
      put(holder, slot, out);
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], out, i]);
    } else if (v !== null && typeof v === "object") {
      const out = {};
      put(holder, slot, out);
      for (const [k, x] of Object.entries(v)) {
        put(out, k, undefined); // keeps the key's place in the object
        stack.push([x, out, k]);
      }
    } else {
      put(holder, slot, v);
    }
  }
  return top.value;
}

/** Sets an own property, even one called `__proto__` (a JSON object may have that key). */
function put(holder: object, key: string | number, value: unknown): void {
  Object.defineProperty(holder, key, { value, writable: true, enumerable: true, configurable: true });
}
