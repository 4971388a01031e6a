/**
 * Introspection says only "int" for every QAPI integer type, but QEMU's input visitor treats them
 * differently: int64 and intN reject non-integers as "Invalid parameter type … expected: integer",
 * unsigned ones say "Parameter '…' expects uint64", and the sized ones add a range check ("expects
 * int32_t"). This finds each integer member's real type by asking the daemon: it builds a valid
 * request around the member, sends a string, then an out-of-range value, and reads the error.
 *
 * Only the commands blockcheck models are probed, with requests that fail right after validation
 * (blockdev-add without a node-name), so probing opens nothing.
 */
import type { QapiSchema, SchemaObject, SchemaType } from "../src/qapi/schema-types.js";

/** The integer kinds the visitor tells apart; absent means int64. */
export type IntKind = "int8" | "int16" | "int32" | "uint8" | "uint16" | "uint32" | "uint64";

/** One member to classify: a request template that puts `value` into that member. */
interface Target {
  key: string; // "<object type>/<member>"
  request: (value: unknown) => unknown;
}

const PROBED: Record<string, { tag?: Record<string, string[]>; base?: Record<string, unknown> }> = {
  "blockdev-add": {},
  "object-add": { tag: { "qom-type": ["throttle-group"] }, base: { id: "probe" } },
  "nbd-server-start": { base: { addr: { type: "unix", data: { path: "probe.sock" } } } },
  "block-export-add": { base: { "node-name": "no-such-node-for-probing" } },
  // Every action's data names nodes that do not exist, so the transaction fails in its first prepare.
  transaction: {},
  // The same for these: the node or device named is looked up first and is not there.
  "blockdev-mirror": {},
  "block-commit": {},
  "block-stream": {},
  block_resize: {},
  "block-set-write-threshold": {},
  // An ill-formed job id fails in job_create, after the driver is found and before anything is made.
  "blockdev-create": { base: { "job-id": "0" } },
  "x-blockdev-amend": { base: { "job-id": "0", "node-name": "no-such-node-for-probing" } },
};

/** A value the visitor accepts for a type (child references as node names, unions by their first tag). */
function defaultValue(types: QapiSchema["types"], name: string): unknown {
  const t: SchemaType = types[name]!;
  switch (t.kind) {
    case "builtin":
      return ({ string: "x", int: 0, boolean: false, null: null, value: 0, number: 0 } as const)[t.json];
    case "enum":
      return t.values[0];
    case "array":
      return [];
    case "alternate":
      return defaultValue(types, t.members.find((m) => types[m]!.kind !== "object") ?? t.members[0]!);
    case "object":
      return defaultObject(types, t, t.tag ? Object.keys(t.variants ?? {})[0] : undefined);
  }
}

function defaultObject(types: QapiSchema["types"], t: SchemaObject, tagValue: string | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const branch = tagValue !== undefined ? t.variants?.[tagValue] : undefined;
  const members = [...t.members, ...(branch ? (types[branch] as SchemaObject).members : [])];
  for (const m of members) {
    if (m.name === t.tag) out[m.name] = tagValue;
    else if (!m.optional) out[m.name] = defaultValue(types, m.type);
  }
  return out;
}

/** Every integer member reachable from the probed commands, once per (object type, member). */
export function probeTargets(schema: QapiSchema): Target[] {
  const types = schema.types;
  const seen = new Set<string>();
  const out: Target[] = [];
  const walkObject = (typeName: string, t: SchemaObject, wrap: (obj: Record<string, unknown>) => unknown, tagFilter?: Record<string, string[]>, base?: Record<string, unknown>) => {
    const tagValues = t.tag ? Object.keys(t.variants ?? {}).filter((v) => !tagFilter?.[t.tag!] || tagFilter[t.tag!]!.includes(v)) : [undefined];
    for (const tagValue of tagValues) {
      const branchName = tagValue !== undefined ? t.variants?.[tagValue] : undefined;
      const groups: [string, SchemaObject][] = [[typeName, t]];
      if (branchName) groups.push([branchName, types[branchName] as SchemaObject]);
      for (const [owner, obj] of groups) {
        for (const m of obj.members) {
          const build = (v: unknown) => wrap({ ...defaultObject(types, t, tagValue), ...base, [m.name]: v });
          walkMember(`${owner}/${m.name}`, m.type, build);
        }
      }
    }
  };
  const walkMember = (key: string, typeName: string, build: (v: unknown) => unknown) => {
    const mt = types[typeName]!;
    if (mt.kind === "builtin" && mt.json === "int") {
      if (!seen.has(key)) {
        seen.add(key);
        out.push({ key, request: build });
      }
    } else if (mt.kind === "object" && !seen.has(`object:${typeName}`)) {
      seen.add(`object:${typeName}`);
      walkObject(typeName, mt, build);
    } else if (mt.kind === "array") {
      walkMember(key, mt.element, (v) => build([v]));
    } else if (mt.kind === "alternate") {
      const obj = mt.members.find((m) => types[m]!.kind === "object");
      if (obj) walkMember(key, obj, build);
    }
  };
  for (const [command, opts] of Object.entries(PROBED)) {
    const arg = schema.commands[command]!.arg;
    seen.add(`object:${arg}`);
    walkObject(arg, types[arg] as SchemaObject, (obj) => {
      // blockdev-add without node-name fails after validation and before opening anything.
      if (command === "blockdev-add") delete obj["node-name"];
      return { execute: command, arguments: obj };
    }, opts.tag, opts.base);
  }
  return out;
}

/**
 * Classify targets from the daemon's answers. `ask` sends requests (in order, in one session) and
 * returns each reply's error text, or undefined when the visitor let it through.
 */
export async function classifyIntegers(
  schema: QapiSchema,
  ask: (requests: unknown[]) => Promise<(string | undefined)[]>,
): Promise<Record<string, IntKind>> {
  const targets = probeTargets(schema);
  const first = await ask(targets.map((t) => t.request("not-an-integer")));
  const unsigned = first.map((e) => /expects uint64$/.test(e ?? ""));
  const second = await ask(targets.map((t, i) => t.request(unsigned[i] ? -1 : 2 ** 31)));
  const out: Record<string, IntKind> = {};
  targets.forEach((t, i) => {
    const sized = /expects (u?int(?:8|16|32))_t$/.exec(second[i] ?? "");
    if (sized) out[t.key] = sized[1] as IntKind;
    else if (unsigned[i]) out[t.key] = "uint64";
    else if (!/expected: integer$/.test(first[i] ?? "")) throw new Error(`cannot classify integer member ${t.key}: ${first[i]}`);
  });
  return out;
}
