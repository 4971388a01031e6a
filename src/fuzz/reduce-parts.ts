/**
 * Simpler versions of one statement, for the shrinker's second pass: without one option (at any
 * depth, inside inline children too); an inline child replaced by one of its own inline children
 * (the node in between unwrapped); a reference to an added node replaced by a node that one
 * references (the node in between bypassed, so that it can go); without one node of a `graph`
 * block or one entry of a reopen transaction; a one-node block as a plain `add`, a one-entry
 * transaction as a plain `reopen`; an export that is not writable. Each step makes the scenario
 * smaller or points a reference at an earlier-added node, so trying them until none passes ends.
 */
import type { FuzzNode, FuzzOption, FuzzReopenEntry, FuzzStatement, FuzzValue } from "./scenario-ir.js";

/** Child references by name of each added node: what a reference to it may be bypassed to. */
export type Bypasses = ReadonlyMap<string, readonly string[]>;

const CHILD_KEYS = new Set(["file", "image", "backing", "data-file"]);

/** For each node an `add` (or a graph line) names, the nodes its child options name. */
export function bypassesOf(statements: readonly FuzzStatement[]): Bypasses {
  const out = new Map<string, string[]>();
  const nodes = statements.flatMap((s) => (s.kind === "add" ? [s.node] : s.kind === "graph" ? s.nodes : []));
  for (const n of nodes) {
    out.set(
      n.name,
      n.options.flatMap((o) => (CHILD_KEYS.has(o.key) && o.value.kind === "word" ? [o.value.text] : [])),
    );
  }
  return out;
}

function valueVariants(key: string, v: FuzzValue, bypasses: Bypasses): FuzzValue[] {
  if (v.kind === "child") {
    const unwrapped = v.options.flatMap((o) => (CHILD_KEYS.has(o.key) && o.value.kind === "child" ? [o.value] : []));
    const inner = optionVariants(v.options, bypasses).map((options): FuzzValue => ({ ...v, options }));
    return [...unwrapped, ...inner];
  }
  if (v.kind === "word" && CHILD_KEYS.has(key)) return (bypasses.get(v.text) ?? []).map((text): FuzzValue => ({ kind: "word", text }));
  return [];
}

/** Every version of `options` with one option fewer or one value simpler, at any depth. */
function optionVariants(options: readonly FuzzOption[], bypasses: Bypasses): FuzzOption[][] {
  const out: FuzzOption[][] = [];
  options.forEach((o, i) => {
    out.push([...options.slice(0, i), ...options.slice(i + 1)]);
    for (const value of valueVariants(o.key, o.value, bypasses)) out.push([...options.slice(0, i), { key: o.key, value }, ...options.slice(i + 1)]);
  });
  return out;
}

function nodeVariants(n: FuzzNode, bypasses: Bypasses): FuzzNode[] {
  return optionVariants(n.options, bypasses).map((options) => ({ ...n, options }));
}

function entryVariants(e: FuzzReopenEntry, bypasses: Bypasses): FuzzReopenEntry[] {
  return optionVariants(e.options, bypasses).map((options) => ({ ...e, options }));
}

function replaceAt<T>(items: readonly T[], i: number, v: T): T[] {
  return [...items.slice(0, i), v, ...items.slice(i + 1)];
}

/** Every one-step-simpler version of `s`, coarsest first. */
export function statementVariants(s: FuzzStatement, bypasses: Bypasses): FuzzStatement[] {
  switch (s.kind) {
    case "add":
      return nodeVariants(s.node, bypasses).map((node) => ({ ...s, node }));
    case "graph": {
      if (s.nodes.length === 1) return [{ kind: "add", node: s.nodes[0]! }];
      const fewer = s.nodes.map((_, i) => ({ ...s, nodes: s.nodes.filter((__, j) => j !== i) }));
      const smaller = s.nodes.flatMap((n, i) => nodeVariants(n, bypasses).map((v) => ({ ...s, nodes: replaceAt(s.nodes, i, v) })));
      return [...fewer, ...smaller];
    }
    case "reopen": {
      const out: FuzzStatement[] = [];
      if (s.entries.length > 1) out.push(...s.entries.map((_, i) => ({ ...s, entries: s.entries.filter((__, j) => j !== i) })));
      else if (s.block) out.push({ ...s, block: false });
      out.push(...s.entries.flatMap((e, i) => entryVariants(e, bypasses).map((v) => ({ ...s, entries: replaceAt(s.entries, i, v) }))));
      return out;
    }
    case "export":
      return s.writable ? [{ ...s, writable: false }] : [];
    default:
      return [];
  }
}

/** Statements, nodes, entries and options, nested ones included: what shrinking lowers. */
export function scenarioSize(statements: readonly FuzzStatement[]): number {
  const opts = (o: readonly FuzzOption[]): number => o.reduce((a, x) => a + 1 + (x.value.kind === "child" ? opts(x.value.options) : 0), 0);
  return statements.reduce((a, s) => {
    switch (s.kind) {
      case "add":
        return a + 1 + opts(s.node.options);
      case "graph":
        return a + 2 + s.nodes.reduce((b, n) => b + 1 + opts(n.options), 0);
      case "reopen":
        return a + 1 + (s.block ? 1 : 0) + s.entries.reduce((b, e) => b + 1 + opts(e.options), 0);
      case "export":
        return a + 1 + (s.writable ? 1 : 0);
      default:
        return a + 1;
    }
  }, 0);
}
