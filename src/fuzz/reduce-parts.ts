/**
 * Simpler versions of one statement, for the shrinker's second pass: a node (added, or inline) as a
 * plain null-co, when what matters is only that there is a node; without one option (at any
 * depth, inside inline children too); an inline child replaced by one of its own inline children
 * (the node in between unwrapped); a reference to an added node (`r0`, or `r0/file`) replaced by
 * the node that one references there (the node in between bypassed, so that it can go); a file
 * name replaced by an image made earlier (so that the later one can go); without one node of a
 * `graph` block or one entry of a reopen transaction; a one-node block as a plain `add`, a one-entry
 * transaction as a plain `reopen`; an export that is not writable. Each step makes the scenario
 * smaller (a null-co without options is the smallest node) or points at something made earlier, so
 * trying them until none passes ends.
 */
import type { FuzzNode, FuzzOption, FuzzReopenEntry, FuzzStatement, FuzzValue } from "./scenario-ir.js";
import { CHILD_KEYS as GEN_CHILD_KEYS } from "./gen-world.js";

/** What the scenario offers to point at instead: the references each added node holds, the images. */
export interface Bypasses {
  /** Added node → its child options given by reference (edge → the reference). */
  children: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** Image paths in the order the scenario makes them. */
  images: readonly string[];
}

const CHILD_KEYS = new Set<string>(GEN_CHILD_KEYS);

export function bypassesOf(statements: readonly FuzzStatement[]): Bypasses {
  const children = new Map<string, Map<string, string>>();
  const nodes = statements.flatMap((s) => (s.kind === "add" ? [s.node] : s.kind === "graph" ? s.nodes : []));
  for (const n of nodes) {
    children.set(n.name, new Map(n.options.flatMap((o) => (CHILD_KEYS.has(o.key) && o.value.kind === "word" ? [[o.key, o.value.text] as const] : []))));
  }
  return { children, images: statements.flatMap((s) => (s.kind === "image" ? [s.path] : [])) };
}

/** `n0` → what n0's child options name; `r0/file/backing` → `X/backing` where r0 was added with file=X. */
function bypassed(ref: string, b: Bypasses): string[] {
  const [root, ...path] = ref.split("/");
  const held = b.children.get(root!);
  if (!held) return [];
  if (path.length === 0) return [...held.values()];
  const first = held.get(path[0]!);
  return first === undefined ? [] : [[first, ...path.slice(1)].join("/")];
}

/** A node as the plainest one there is, keeping its name: a null-co without options. */
function isPlain(driver: string, options: readonly FuzzOption[]): boolean {
  return driver === "null-co" && options.length === 0;
}

function valueVariants(key: string, v: FuzzValue, b: Bypasses): FuzzValue[] {
  if (v.kind === "child") {
    const plain: FuzzValue[] = isPlain(v.driver, v.options) ? [] : [{ ...v, driver: "null-co", options: [] }];
    const unwrapped = v.options.flatMap((o) => (CHILD_KEYS.has(o.key) && o.value.kind === "child" ? [o.value] : []));
    const inner = optionVariants(v.options, b).map((options): FuzzValue => ({ ...v, options }));
    return [...plain, ...unwrapped, ...inner];
  }
  if (v.kind !== "word") return [];
  if (CHILD_KEYS.has(key)) return bypassed(v.text, b).map((text): FuzzValue => ({ kind: "word", text }));
  if (key === "filename") return b.images.slice(0, Math.max(0, b.images.indexOf(v.text))).map((text): FuzzValue => ({ kind: "word", text }));
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
  const plain = isPlain(n.driver, n.options) ? [] : [{ name: n.name, driver: "null-co", options: [] }];
  return [...plain, ...optionVariants(n.options, bypasses).map((options) => ({ ...n, options }))];
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
    case "export": {
      const plain: FuzzStatement = { kind: "export", node: s.node, writable: s.writable, id: s.id };
      const out: FuzzStatement[] = [];
      if (s.iothread !== undefined) out.push(plain, ...(s.fixed ? [{ ...plain, iothread: s.iothread }] : []));
      if (s.writable) out.push({ ...s, writable: false });
      return out;
    }
    case "job":
      // A mirror or a backup cannot do without its target and sync mode.
      return s.options.flatMap((o, i) => (o.key === "target" || o.key === "sync" ? [] : [{ ...s, options: s.options.filter((_, j) => j !== i) }]));
    default:
      return [];
  }
}
