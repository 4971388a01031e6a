/**
 * Turns qemu-storage-daemon's `query-qmp-schema` reply into the checked-in schema table
 * (src/qapi/generated/qmp-schema.ts). Pure, so a test can regenerate in memory and compare.
 *
 * Kept: every command's argument type and everything it reaches, and the return types of the
 * commands in RETURN_TYPES_KEPT. Dropped: events, other return types (blockcheck validates input,
 * and reads only those replies member by member) and documentation-only fields.
 */
import type { QapiSchema, SchemaMember, SchemaType } from "../src/qapi/schema-types.js";
import type { IntKind } from "./qapi-int-widths.js";

/**
 * Commands whose reply types are kept: `expect node` and `show node` name members of
 * query-named-block-nodes' BlockDeviceInfo, and the checker needs their names and types.
 */
export const RETURN_TYPES_KEPT: readonly string[] = ["query-named-block-nodes"];

/** One entry of the introspection array, as QEMU sends it. */
interface IntrospectionEntry {
  name: string;
  "meta-type": string;
  [key: string]: unknown;
}

/**
 * Introspection hides the names of alternates, but QEMU's input visitor prints them; these are the
 * QEMU 7.2 names, recognised by their branch types (see qapi/block-core.json, qapi/common.json).
 */
function alternateName(members: string[], byName: Map<string, IntrospectionEntry>): string {
  const metas = members.map((m) => byName.get(m)?.["meta-type"] ?? m);
  const isBlockdevOptions = (t: string) => byName.get(t)?.tag === "driver";
  const has = (t: string) => members.includes(t);
  if (members.length === 2 && isBlockdevOptions(members[0]!) && has("str")) return "BlockdevRef";
  if (members.length === 3 && isBlockdevOptions(members[0]!) && has("str") && has("null")) return "BlockdevRefOrNull";
  if (members.length === 2 && has("str") && has("null")) return "StrOrNull";
  if (metas.join() === "object,enum") return "Qcow2OverlapChecks";
  if (members.length === 2 && has("str") && metas[1] === "object") return "BlockDirtyBitmapOrStr";
  throw new Error(`unknown alternate of ${members.join(", ")}: name it in scripts/qapi-schema-codegen.ts`);
}

/**
 * The schema table for the given introspection reply. `intKinds` ("<object type>/<member>" → kind,
 * from scripts/qapi-int-widths.ts) refines integer members that are not int64.
 */
export function schemaFromIntrospection(
  entries: IntrospectionEntry[],
  qemu: string,
  intKinds: Record<string, IntKind> = {},
): QapiSchema {
  const byName = new Map(entries.map((e) => [e.name, e]));
  const types: Record<string, SchemaType> = {};
  const commands: QapiSchema["commands"] = {};

  const visit = (name: string): void => {
    if (name in types) return;
    const e = byName.get(name);
    if (!e) throw new Error(`introspection names type '${name}' but does not define it`);
    switch (e["meta-type"]) {
      case "builtin":
        types[name] = { kind: "builtin", json: e["json-type"] as never };
        return;
      case "enum":
        types[name] = { kind: "enum", values: e.values as string[] };
        return;
      case "array":
        types[name] = { kind: "array", element: e["element-type"] as string };
        visit(types[name].element);
        return;
      case "alternate": {
        const members = (e.members as { type: string }[]).map((m) => m.type);
        types[name] = { kind: "alternate", name: alternateName(members, byName), members };
        members.forEach(visit);
        return;
      }
      case "object": {
        const members: SchemaMember[] = (e.members as { name: string; type: string; default?: unknown }[]).map((m) => {
          const int = intKinds[`${name}/${m.name}`];
          return { name: m.name, type: m.type, optional: "default" in m, ...(int ? { int } : {}) };
        });
        const obj: SchemaType = { kind: "object", members };
        if (typeof e.tag === "string") {
          obj.tag = e.tag;
          obj.variants = Object.fromEntries((e.variants as { case: string; type: string }[]).map((v) => [v.case, v.type]));
        }
        types[name] = obj;
        members.forEach((m) => visit(m.type));
        Object.values(obj.variants ?? {}).forEach(visit);
        return;
      }
      default:
        throw new Error(`unexpected meta-type '${e["meta-type"]}' for type '${name}'`);
    }
  };

  for (const e of entries.filter((x) => x["meta-type"] === "command").sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const features = e.features as string[] | undefined;
    const ret = RETURN_TYPES_KEPT.includes(e.name) ? (e["ret-type"] as string) : undefined;
    commands[e.name] = { arg: e["arg-type"] as string, ...(ret ? { ret } : {}), ...(features && features.length > 0 ? { features } : {}) };
    visit(e["arg-type"] as string);
    if (ret) visit(ret);
  }
  const sortedTypes = Object.fromEntries(Object.keys(types).sort(byTypeName).map((k) => [k, types[k]!]));
  return { qemu, commands, types: sortedTypes };
}

/** Built-ins first, then numbered types in numeric order, then list types. */
function byTypeName(a: string, b: string): number {
  const rank = (n: string) => (n.startsWith("[") ? 2 : /^\d+$/.test(n) ? 1 : 0);
  return rank(a) - rank(b) || (rank(a) === 1 ? Number(a) - Number(b) : (a < b ? -1 : a > b ? 1 : 0));
}

/** The TypeScript module text: one type per line so diffs between QEMU versions stay readable. */
export function renderSchemaModule(schema: QapiSchema): string {
  const lines = [
    "// GENERATED by scripts/gen-qapi-schema.ts from qemu-storage-daemon's query-qmp-schema. Do not edit;",
    "// run `npx tsx scripts/gen-qapi-schema.ts` with QEMU " + schema.qemu + " installed to regenerate.",
    'import type { QapiSchema } from "../schema-types.js";',
    "",
    "export const qmpSchema: QapiSchema = {",
    `  qemu: ${JSON.stringify(schema.qemu)},`,
    "  commands: {",
    ...Object.entries(schema.commands).map(([k, v]) => `    ${JSON.stringify(k)}: ${JSON.stringify(v)},`),
    "  },",
    "  types: {",
    ...Object.entries(schema.types).map(([k, v]) => `    ${JSON.stringify(k)}: ${JSON.stringify(v)},`),
    "  },",
    "};",
    "",
  ];
  return lines.join("\n");
}
