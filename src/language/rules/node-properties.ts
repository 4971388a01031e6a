/**
 * `expect node NODE KEY=VALUE…` and `show node NODE KEY…` name members of query-named-block-nodes'
 * reply (node-properties.ts), each once; an expected value fits its member's type
 * (property-values.ts).
 */
import type { Location } from "../ast.js";
import { error, type Diagnostic } from "../diagnostic.js";
import { lookupProperty, type NodeProperty, type PropertyProblem } from "../node-properties.js";
import { readExpected } from "../property-values.js";
import type { Rule } from "./rule.js";
import { suggest } from "./suggest.js";

export const nodeProperties: Rule = {
  name: "node-properties",
  on: "expansion",
  check({ scenario }) {
    const out: Diagnostic[] = [];
    for (const s of scenario.statements) {
      if (s.type === "expect" && s.assertion.kind === "node") {
        const seen = new Map<string, string>();
        for (const o of s.assertion.properties) {
          const p = resolve(o.key, o.keyLocation, seen, out);
          if (!p) continue;
          const v = readExpected(p, o.key, o.value);
          if ("message" in v) out.push(error(v.message, o.value.location, v.notes));
        }
      }
      if (s.type === "show" && s.properties) {
        const seen = new Map<string, string>();
        for (const id of s.properties) resolve(id.name, id.location, seen, out);
      }
    }
    return out;
  },
};

/** The property a key names, or undefined after diagnosing why it names none (or names one again). */
function resolve(key: string, at: Location, seen: Map<string, string>, out: Diagnostic[]): NodeProperty | undefined {
  const r = lookupProperty(key);
  if ("problem" in r) {
    out.push(problemDiagnostic(key, at, r.problem));
    return undefined;
  }
  const id = r.property.path.join(".");
  const first = seen.get(id);
  if (first !== undefined) {
    out.push(error(first === key ? `property '${key}' is named twice` : `'${key}' is the same property as '${first}'`, at));
    return undefined;
  }
  seen.set(id, key);
  return r.property;
}

function problemDiagnostic(key: string, at: Location, p: PropertyProblem): Diagnostic {
  const written = [...p.prefix, p.part].join(".");
  const above = p.prefix.join(".");
  switch (p.reason) {
    case "unknown":
      return error(`unknown node property '${written}'`, at, [
        ...suggest(written, p.candidates),
        p.prefix.length === 0
          ? "properties are the members of the node's query-named-block-nodes entry (see 'expect node' in docs/language.md)"
          : `'${above}' has ${p.candidates.map((c) => c.slice(above.length + 1)).filter((c, i, all) => all.indexOf(c) === i && !c.includes("_")).join(", ")}`,
      ]);
    case "scalar":
      return error(`'${above}' is a single value: '${key}' names nothing`, at);
    case "index":
      return error(`'${above}' is a list: name an element by its index, as in '${p.candidates[0]}'`, at);
  }
}
