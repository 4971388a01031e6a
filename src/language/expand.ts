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

/** A deep copy of an AST node with every bound `$name` substituted; locations are kept. */
function substituteNode<T>(node: T, bindings: Record<string, string>): T {
  if (typeof node === "string") return substitute(node, bindings) as T;
  if (Array.isArray(node)) return node.map((n) => substituteNode(n, bindings)) as T;
  if (node === null || typeof node !== "object") return node;
  const n = node as Record<string, unknown>;
  if (n.type === "json") return { ...n, value: substituteJson(n.value, bindings) } as T;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(n)) {
    out[k] = k === "location" || k === "keyLocation" || k === "type" ? v : substituteNode(v, bindings);
  }
  if (n.type === "word" && typeof n.value === "string" && n.value.includes("$")) return retype(out as never) as T;
  if (n.type === "noderef") {
    const [root, ...path] = (out.text as string).split("/");
    Object.assign(out, { root, path } satisfies Partial<NodeRef>);
  }
  return out as T;
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

function substituteJson(value: unknown, bindings: Record<string, string>): unknown {
  if (typeof value === "string") return substitute(value, bindings);
  if (Array.isArray(value)) return value.map((v) => substituteJson(v, bindings));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteJson(v, bindings)]));
  }
  return value;
}
