/**
 * What `blockdev-add` accepts, per driver, as QEMU 7.2's QAPI schema (`BlockdevOptions` in
 * qapi/block-core.json) defines it. Generated from the real daemon's introspection, so driver names
 * and member lists are exactly QEMU's.
 *
 * Usage (the scenario validator):
 *
 *   listDrivers()                          // ["blkdebug", "blklogwrites", …] — every BlockdevDriver value
 *   optionKeys("qcow2")                    // ["driver", "node-name", …, "cache.direct", …, "file", "backing", …]
 *   lookupOption("qcow2", "backing")       // { kind: "child", optional: true, nullable: true }
 *   lookupOption("file", "filename")       // { kind: "scalar", scalar: "str", path: true, optional: false }
 *   lookupOption("raw", "cache.direct")    // { kind: "scalar", scalar: "bool", optional: true }
 *   lookupOption("raw", "nosuch")          // undefined
 *
 * Keys below a child (`file.filename`) belong to the child's driver: look them up with
 * `lookupOption(childDriver, "filename")`; `lookupOption(parent, "file.x")` is undefined.
 */
import { qmpSchema } from "./generated/qmp-schema.js";
import type { SchemaObject, SchemaType } from "./schema-types.js";

/** What one (dotted) option key of a driver is. */
export interface OptionInfo {
  /**
   * `child`: a BlockdevRef member (file, backing, data-file, image, …): an inline node or a node name.
   * `scalar`: a leaf value; `struct`: an object with its own keys (e.g. `cache`); `list`: an array.
   */
  kind: "child" | "scalar" | "struct" | "list";
  /** For scalars: the JSON shape QEMU accepts. `alternate`: more than one (e.g. qcow2 `overlap-check`). */
  scalar?: "str" | "int" | "bool" | "number" | "enum" | "any" | "alternate";
  /** For enum scalars and lists of enums: the accepted values, in schema order. */
  values?: string[];
  /** True when the value names a host file (file's `filename`, blkdebug's `config`, vvfat's `dir`). */
  path?: boolean;
  /** True when `null` is accepted (qcow2's `backing`: BlockdevRefOrNull). */
  nullable?: boolean;
  /** False when QAPI requires the member. */
  optional: boolean;
}

/** Members whose string value is a path on the host, resolved against the scratch directory. */
const PATH_MEMBERS: Record<string, readonly string[]> = {
  file: ["filename"],
  host_device: ["filename"],
  host_cdrom: ["filename"],
  blkdebug: ["config"],
  vvfat: ["dir"],
};

const types = qmpSchema.types;
const blockdevOptions = types[qmpSchema.commands["blockdev-add"]!.arg] as SchemaObject;

const DRIVERS: readonly string[] = (
  types[blockdevOptions.members.find((m) => m.name === "driver")!.type] as { values: string[] }
).values;

/** Every value of the BlockdevDriver enum, in schema order. */
export function listDrivers(): string[] {
  return [...DRIVERS];
}

/** True when `driver` is a BlockdevDriver value. */
export function isDriver(driver: string): boolean {
  return DRIVERS.includes(driver);
}

/** Members of BlockdevOptions for one driver: the common base members, then the driver's branch. */
function driverMembers(driver: string): SchemaObject["members"] | undefined {
  if (!isDriver(driver)) return undefined;
  let members = membersByDriver.get(driver);
  if (!members) {
    const branch = blockdevOptions.variants?.[driver];
    const extra = branch ? (types[branch] as SchemaObject).members : [];
    membersByDriver.set(driver, (members = [...blockdevOptions.members, ...extra]));
  }
  return members;
}

const membersByDriver = new Map<string, SchemaObject["members"]>();

/** Members of an object type, including every branch of a union (for key listing, not validation). */
function allMembers(t: SchemaObject): SchemaObject["members"] {
  const out = [...t.members];
  for (const branch of new Set(Object.values(t.variants ?? {}))) {
    for (const m of (types[branch] as SchemaObject).members) if (!out.some((o) => o.name === m.name)) out.push(m);
  }
  return out;
}

function isBlockdevRef(t: SchemaType): boolean {
  return t.kind === "alternate" && (t.name === "BlockdevRef" || t.name === "BlockdevRefOrNull");
}

/**
 * The object whose members appear as dotted sub-keys of a member of this type: a struct, or the
 * object branch of an alternate that is not a child reference (qcow2's `overlap-check.template`).
 */
function keyedObject(typeName: string): SchemaObject | undefined {
  const t = types[typeName]!;
  if (t.kind === "object") return t;
  if (t.kind !== "alternate" || isBlockdevRef(t)) return undefined;
  return t.members.map((x) => types[x]!).find((x): x is SchemaObject => x.kind === "object");
}

function describe(typeName: string, optional: boolean, isPath: boolean): OptionInfo {
  const t = types[typeName]!;
  const base = { optional, ...(isPath ? { path: true } : {}) };
  switch (t.kind) {
    case "alternate":
      if (isBlockdevRef(t)) return { kind: "child", ...base, ...(t.members.includes("null") ? { nullable: true } : {}) };
      return { kind: "scalar", scalar: "alternate", ...base };
    case "object":
      return { kind: "struct", ...base };
    case "array": {
      const el = types[t.element]!;
      return { kind: "list", ...base, ...(el.kind === "enum" ? { values: [...el.values] } : {}) };
    }
    case "enum":
      return { kind: "scalar", scalar: "enum", values: [...t.values], ...base };
    case "builtin": {
      const scalar = ({ string: "str", int: "int", boolean: "bool", number: "number", value: "any", null: "any" } as const)[t.json];
      return { kind: "scalar", scalar, ...base };
    }
  }
}

/**
 * Information on `driver`'s option `dottedKey` (e.g. "cache.direct"), or undefined if QEMU has no
 * such option. The schema does not change: each answer is worked out once and shared (frozen), as
 * the checker and the runner ask it for every option of every scenario.
 */
export function lookupOption(driver: string, dottedKey: string): OptionInfo | undefined {
  const key = `${driver}\0${dottedKey}`;
  if (optionInfos.has(key)) return optionInfos.get(key);
  const info = findOption(driver, dottedKey);
  if (info) {
    if (info.values) Object.freeze(info.values);
    Object.freeze(info);
  }
  optionInfos.set(key, info);
  return info;
}

const optionInfos = new Map<string, OptionInfo | undefined>();

function findOption(driver: string, dottedKey: string): OptionInfo | undefined {
  const members = driverMembers(driver);
  if (!members) return undefined;
  const parts = dottedKey.split(".");
  let current = members;
  for (let i = 0; i < parts.length; i++) {
    const m = current.find((x) => x.name === parts[i]);
    if (!m) return undefined;
    const isPath = i === 0 && parts.length === 1 && (PATH_MEMBERS[driver] ?? []).includes(m.name);
    if (i === parts.length - 1) return describe(m.type, m.optional, isPath);
    const obj = keyedObject(m.type);
    if (!obj) return undefined;
    current = allMembers(obj);
  }
  return undefined;
}

/** Every option key of `driver`, flattened with dots (struct members as `cache.direct`); [] for an unknown driver. */
export function optionKeys(driver: string): string[] {
  const members = driverMembers(driver);
  if (!members) return [];
  const out: string[] = [];
  const walk = (prefix: string, ms: SchemaObject["members"]) => {
    for (const m of ms) {
      const key = prefix + m.name;
      const obj = keyedObject(m.type);
      if (types[m.type]!.kind === "object" && obj) {
        walk(key + ".", allMembers(obj));
      } else {
        out.push(key);
        if (obj) walk(key + ".", allMembers(obj));
      }
    }
  };
  walk("", members);
  return out;
}

/** The child options (BlockdevRef members) of `driver`, e.g. ["file", "backing", "data-file"] for qcow2. */
export function childOptions(driver: string): string[] {
  return optionKeys(driver).filter((k) => lookupOption(driver, k)?.kind === "child");
}
