/**
 * The properties `expect node` and `show node` name: members of the node's entry in
 * query-named-block-nodes (QAPI BlockDeviceInfo of QEMU 7.2, from the generated schema table),
 * dotted into sub-objects (`cache.direct`, `image.virtual-size`) and indexed into lists
 * (`dirty-bitmaps.0.name`).
 *
 * Spelling. The reply mixes `_` and `-` (`detect_zeroes`, `backing_file`, but `node-name`,
 * `cache.no-flush`); blockdev-add spells options with `-`. So a key may be written as the reply
 * spells it or with `-` for every `_` (`detect-zeroes`, `backing-file`, `write-threshold`), and
 * three members also answer to the blockdev-add option that sets them: `driver` (reply `drv`),
 * `read-only` (`ro`), `filename` (`file`, the node's file name: not its `file` child).
 */
import { qmpSchema } from "../qapi/generated/qmp-schema.js";
import type { SchemaObject, SchemaType } from "../qapi/schema-types.js";

/** Top-level keys named as blockdev-add names the option, and the reply member each stands for. */
export const PROPERTY_ALIASES: Readonly<Record<string, string>> = { driver: "drv", "read-only": "ro", filename: "file" };

/** What kind of value a property holds. */
export type PropertyKind = "bool" | "int" | "number" | "str" | "enum" | "any" | "object" | "list";

/** One property, resolved against the schema. */
export interface NodeProperty {
  /** The reply members on the way, as QEMU spells them: ["detect_zeroes"], ["image", "virtual-size"]. */
  path: string[];
  kind: PropertyKind;
  /** For enums: the values, in schema order. */
  values?: string[];
  /** For objects: their members as a key names them (`-` for `_`), in schema order. */
  members?: string[];
  /** True when the reply may leave it out (it, or a member on its way, is optional, or it is in a list). */
  optional: boolean;
}

/** Why a key does not name a property. */
export interface PropertyProblem {
  /** The parts written before the one that failed (`["image"]` for `image.virtul-size`). */
  prefix: string[];
  /** The part that failed. */
  part: string;
  /** "unknown": no such member; "scalar": the prefix is not an object or list; "index": a list needs an index. */
  reason: "unknown" | "scalar" | "index";
  /** Keys that would have worked at that point, as a user writes them (`image.virtual-size`). */
  candidates: string[];
}

const types = qmpSchema.types;
const ROOT = rootType();

function rootType(): string {
  const ret = qmpSchema.commands["query-named-block-nodes"]?.ret;
  const list = ret === undefined ? undefined : types[ret];
  if (list?.kind !== "array") throw new Error("the schema table lacks query-named-block-nodes' return type");
  return list.element;
}

/** Resolves a dotted key, or says where and why it does not resolve. */
export function lookupProperty(key: string): { property: NodeProperty } | { problem: PropertyProblem } {
  const parts = key.split(".");
  // A union's branches may give one member name different types (format-specific.data): keep them all.
  let current: string[] = [ROOT];
  let optional = false;
  const path: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const prefix = parts.slice(0, i);
    const shapes = current.map((t) => types[t]!);
    if (shapes.some((t) => t.kind === "array")) {
      if (!/^[0-9]+$/.test(part)) return { problem: { prefix, part, reason: "index", candidates: [[...prefix, "0"].join(".")] } };
      path.push(part);
      optional = true;
      current = shapes.flatMap((t) => (t.kind === "array" ? [t.element] : []));
      continue;
    }
    const objects = shapes.filter((t): t is SchemaObject => t.kind === "object");
    if (objects.length === 0) return { problem: { prefix, part, reason: "scalar", candidates: [] } };
    const members = objects.flatMap(allMembers);
    const found = members.filter((m) => matches(m.name, part, i === 0));
    if (found.length === 0) {
      return { problem: { prefix, part, reason: "unknown", candidates: spellings(members, i === 0).map((k) => [...prefix, k].join(".")) } };
    }
    path.push(found[0]!.name);
    optional ||= found.some((m) => m.optional);
    current = [...new Set(found.map((m) => m.type))];
  }
  return { property: { path, optional, ...describe(current.map((t) => types[t]!)) } };
}

/**
 * Every member of an object type, with those of all its union branches; a name may come more than
 * once, with different types (each branch of `format-specific` has its own `data`).
 */
function allMembers(t: SchemaObject): SchemaObject["members"] {
  const out = [...t.members];
  for (const branch of new Set(Object.values(t.variants ?? {}))) {
    const b = types[branch];
    if (b?.kind === "object") out.push(...b.members);
  }
  return out;
}

function matches(member: string, written: string, top: boolean): boolean {
  return member === written || member.replaceAll("_", "-") === written || (top && PROPERTY_ALIASES[written] === member);
}

/** How members may be written, for did-you-mean: the dashed spelling first, the reply's too, and aliases at the top. */
function spellings(members: SchemaObject["members"], top: boolean): string[] {
  const out = new Set<string>();
  for (const m of members) {
    out.add(m.name.replaceAll("_", "-"));
    out.add(m.name);
  }
  if (top) for (const alias of Object.keys(PROPERTY_ALIASES)) out.add(alias);
  return [...out];
}

function describe(shapes: SchemaType[]): Pick<NodeProperty, "kind" | "values" | "members"> {
  const t = shapes[0]!;
  switch (t.kind) {
    case "object":
      return { kind: "object", members: [...new Set(allMembers(t).map((m) => m.name.replaceAll("_", "-")))] };
    case "array":
      return { kind: "list" };
    case "enum":
      return { kind: "enum", values: [...t.values] };
    case "alternate":
      return { kind: "any" };
    case "builtin":
      return { kind: ({ string: "str", int: "int", boolean: "bool", number: "number", value: "any", null: "any" } as const)[t.json] };
  }
}

/** The value at a property's path in one node's reply entry; undefined when the reply leaves it out. */
export function propertyValue(entry: unknown, property: NodeProperty): unknown {
  let v = entry;
  for (const p of property.path) {
    if (Array.isArray(v)) v = v[Number(p)];
    else if (v !== null && typeof v === "object" && Object.hasOwn(v, p)) v = (v as Record<string, unknown>)[p];
    else return undefined;
  }
  return v;
}
