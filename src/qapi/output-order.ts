/**
 * The member order of the QDict QEMU's QObject output visitor builds from a command's arguments.
 * blockdev-add and blockdev-reopen parse their arguments into C structs and visit them back into a
 * QDict: every object's members are inserted in schema order (a flat union's base first, then its
 * branch), whatever order the client wrote them in. Insertion order decides how keys that share a
 * QDict bucket iterate, so the model builds options from arguments put in this order.
 */
import { qmpSchema } from "./generated/qmp-schema.js";
import type { SchemaObject } from "./schema-types.js";

/**
 * A copy of `args`, already checked against `command`'s argument type, with every object's members
 * in schema order.
 */
export function inOutputOrder(command: string, args: Record<string, unknown>): Record<string, unknown> {
  const cmd = qmpSchema.commands[command];
  if (!cmd) throw new Error(`schema has no command '${command}'`);
  return reorder(cmd.arg, args) as Record<string, unknown>;
}

/** A command's argument type's member, reordered as that type (blockdev-create's inline BlockdevOptions). */
export function inArgTypeOrder(command: string, value: Record<string, unknown>): Record<string, unknown> {
  const cmd = qmpSchema.commands[command];
  if (!cmd) throw new Error(`schema has no command '${command}'`);
  return reorder(cmd.arg, value) as Record<string, unknown>;
}

function isDict(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function reorder(typeName: string, value: unknown): unknown {
  const t = qmpSchema.types[typeName];
  if (!t) throw new Error(`schema has no type '${typeName}'`);
  switch (t.kind) {
    case "object":
      return isDict(value) ? reorderStruct(t, value) : value;
    case "array":
      return Array.isArray(value) ? value.map((el) => reorder(t.element, el)) : value;
    case "alternate": {
      // The branch the input visitor took: only an object branch has members to order.
      if (!isDict(value)) return value;
      const branch = t.members.find((m) => qmpSchema.types[m]?.kind === "object");
      return branch === undefined ? value : reorder(branch, value);
    }
    default:
      return value;
  }
}

function reorderStruct(t: SchemaObject, dict: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const take = (members: SchemaObject["members"]) => {
    for (const m of members) {
      if (Object.prototype.hasOwnProperty.call(dict, m.name)) out[m.name] = reorder(m.type, dict[m.name]);
    }
  };
  take(t.members);
  if (t.tag !== undefined) {
    const branch = t.variants?.[dict[t.tag] as string];
    if (branch) take((qmpSchema.types[branch] as SchemaObject).members);
  }
  // Only a caller that skipped the input visitor has members the schema lacks: they keep their place after.
  for (const [key, v] of Object.entries(dict)) if (!(key in out)) out[key] = v;
  return out;
}
