/**
 * Option values as plain JSON, for commands whose arguments are not block-node options: job
 * arguments and event matches. A word is a string, `on`/`off` a boolean, a number a number, `null`
 * null; dotted keys nest (`data.x=1` → `{"data": {"x": 1}}`). An inline child has no meaning here.
 */
import type { OptionNode, Value } from "../language/ast.js";
import { StepError } from "./errors.js";

/** One value as JSON. */
export function plainValue(v: Value): unknown {
  switch (v.type) {
    case "word":
    case "string":
    case "bool":
      return v.value;
    case "number":
      return v.value;
    case "null":
      return null;
    case "json":
      return v.value;
    case "list":
      return v.items.map(plainValue);
    case "child":
      throw new StepError("an inline node is not a value here", v.location);
  }
}

/** `key=value` options as one JSON object, dotted keys nested. */
export function plainObject(options: readonly OptionNode[], convert: (o: OptionNode) => unknown = (o) => plainValue(o.value)): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const o of options) {
    const parts = o.key.split(".");
    let dict = out;
    for (const p of parts.slice(0, -1)) {
      const next = dict[p];
      if (next !== undefined && (typeof next !== "object" || next === null || Array.isArray(next))) {
        throw new StepError(`option '${o.key}' conflicts with '${p}'`, o.keyLocation);
      }
      dict = (dict[p] ??= {}) as Record<string, unknown>;
    }
    dict[parts[parts.length - 1]!] = convert(o);
  }
  return out;
}
