/**
 * `each` binds a variable once, to distinct values; every `$name` refers to a bound variable.
 * Runs on the scenario as written, before substitution.
 */
import type { Location } from "../ast.js";
import { error, type Diagnostic } from "../diagnostic.js";
import { parameterNames } from "../parameters.js";
import { parameterFree } from "../walk.js";
import type { Rule } from "./rule.js";
import { suggest } from "./suggest.js";

export const parameters: Rule = {
  name: "parameters",
  on: "source",
  check({ scenario }) {
    const out: Diagnostic[] = [];
    const bound = new Map<string, Location>();
    for (const s of scenario.statements) {
      if (s.type !== "each") continue;
      const previous = bound.get(s.variable.name);
      if (previous) {
        out.push(error(`parameter '${s.variable.name}' is bound twice`, s.variable.location, [`first bound at line ${previous.start.line}`]));
      }
      bound.set(s.variable.name, s.variable.location);
      const seen = new Set<string>();
      for (const v of s.values) {
        if (seen.has(v.value)) out.push(error(`value '${v.value}' is listed twice for '${s.variable.name}'`, v.location));
        seen.add(v.value);
      }
    }
    // Without a `$` in its text the scenario refers to no parameter: the walk would find nothing.
    if (parameterFree(scenario)) return out;
    for (const { text, location } of referenceSites(scenario.statements)) {
      for (const name of parameterNames(text)) {
        if (!bound.has(name)) {
          out.push(
            error(`unknown parameter '$${name}'`, location, [
              ...suggest(name, bound.keys()),
              "parameters are bound by 'each NAME in VALUE…'; write '$$' for a literal '$'",
            ]),
          );
        }
      }
    }
    return out;
  },
};

const TEXT_FIELDS = ["value", "name", "pattern", "key"] as const;

/**
 * Every string written in the AST that may hold `$name`, with where it was written, in source
 * order. Iterative, with an explicit stack: a scenario built in memory may nest deeper than the call
 * stack.
 */
function* referenceSites(root: unknown): Generator<{ text: string; location: Location }> {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push(node[i]);
      continue;
    }
    if (node === null || typeof node !== "object") continue;
    const n = node as Record<string, unknown> & { type?: string; location?: Location };
    if (n.type === "json" && n.location) {
      yield { text: JSON.stringify(n.value), location: n.location };
      continue;
    }
    if (n.location) {
      for (const f of TEXT_FIELDS) {
        if (typeof n[f] === "string") yield { text: n[f] as string, location: f === "key" ? (n.keyLocation as Location) : n.location };
      }
      // A node reference's and an exact error's text is what was written; a statement's is not scanned.
      if ((n.type === "noderef" || n.type === "exact") && typeof n.text === "string") yield { text: n.text, location: n.location };
    }
    const children = Object.entries(n).filter(([k, v]) => k !== "location" && k !== "keyLocation" && typeof v === "object");
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]![1]);
  }
}
