/**
 * qom-list, qom-get and qom-set (qom/qom-qmp-cmds.c): paths resolve over the whole QOM tree
 * (qom-tree.ts), absolute or partial; the properties the model has are those of containers and of
 * the iothread, throttle-group and secret objects in /objects. Those of the machine, a chardev or
 * a memory region are refused, beyond their type and the child and link properties that lead on.
 */
import { InputVisitor, VisitError } from "../../../qapi/input-visitor.js";
import { qmpSchema } from "../../../qapi/generated/qmp-schema.js";
import { IOTHREAD_QOM_PROPERTIES, setIothreadProperty } from "../aio-context/iothread-objects.js";
import type { LayerState } from "../layer-state.js";
import { ModelUnsupportedError } from "../model-unsupported.js";
import { fail, QmpFailure } from "../qmp-failure.js";
import { limitsOf, limitsType, setLimits, throttleProperty } from "../throttle-config.js";
import type { SecretProps } from "../objects/secret-objects.js";
import type { SchemaObject } from "../../../qapi/schema-types.js";
import type { CommandHandler } from "./handler.js";
import { childOrder, type QomObject, qomRoot, resolveQomPath, type UserObjectKind } from "./qom-tree.js";
import { GHashModel } from "../../../qapi/ghash-order.js";

interface PropertyInfo {
  name: string;
  type: string;
}

const visitor = new InputVisitor(qmpSchema);

/**
 * Each class's properties in the order object_class_property_add adds them (its class_init),
 * the class first and its parents after it, as object_property_iter_next walks them.
 */
const CLASS_PROPERTIES: Record<UserObjectKind, [string, string][][]> = {
  iothread: [
    [["poll-max-ns", "int"], ["poll-grow", "int"], ["poll-shrink", "int"]],
    [["aio-max-batch", "int"], ["thread-pool-min", "int"], ["thread-pool-max", "int"]],
  ],
  "throttle-group": [
    [
      ...["iops", "bps"].flatMap((k) =>
        ["total", "read", "write"].flatMap((b) => ["", "-max", "-max-length"].map((s): [string, string] => [`x-${k}-${b}${s}`, "int"])),
      ),
      ["x-iops-size", "int"],
      ["limits", "ThrottleLimits"],
    ],
  ],
  secret: [
    [["data", "string"], ["file", "string"]],
    [["loaded", "bool"], ["format", "QCryptoSecretFormat"], ["keyid", "string"], ["iv", "string"]],
  ],
};

/** TYPE_OBJECT's one class property. */
const OBJECT_PROPERTIES: [string, string][] = [["type", "string"]];

/** One hash table's iteration order, as glib's table of those keys inserted in that order has it. */
function tableOrder(props: [string, string][]): [string, string][] {
  const table = new GHashModel();
  for (const [name] of props) table.insert(name);
  const types = new Map(props);
  return table.keysInOrder().map((name) => [name, types.get(name)!]);
}

/**
 * qmp_qom_list: object_property_iter_next walks the instance's property table, then each class's
 * from the object's own up to TYPE_OBJECT; QAPI_LIST_PREPEND reverses the whole walk.
 */
function properties(state: LayerState, obj: QomObject): PropertyInfo[] {
  const walk: [string, string][] = [];
  if (obj.kind === "opaque") throw unmodelled(obj);
  if (obj.kind === "container") {
    for (const c of childOrder(state, obj)) walk.push([c.name, `child<${typeName(c.object)}>`]);
  } else {
    for (const cls of CLASS_PROPERTIES[obj.kind]) walk.push(...tableOrder(cls));
  }
  walk.push(...OBJECT_PROPERTIES);
  return walk.reverse().map(([name, type]) => ({ name, type }));
}

function unmodelled(obj: QomObject & { kind: "opaque" }): ModelUnsupportedError {
  return new ModelUnsupportedError(`the properties of the QOM object '${obj.path}' (${obj.type}), which the model does not have`);
}

/** The object at `path`; `listing` is qom-list, which alone tells an ambiguous path apart. */
function resolve(state: LayerState, path: string, listing = false): QomObject {
  const found = resolveQomPath(qomRoot(state), path);
  if (found === "ambiguous" && listing) fail(`Path '${path}' is ambiguous`);
  if (typeof found === "string") throw new QmpFailure(`Device '${path}' not found`, "DeviceNotFound");
  return found;
}

/** object_property_find_err. */
function findProperty(state: LayerState, obj: QomObject, name: string): PropertyInfo {
  const prop = properties(state, obj).find((p) => p.name === name);
  if (!prop) fail(`Property '${typeName(obj)}.${name}' not found`);
  return prop;
}

function typeName(obj: QomObject): string {
  return obj.kind === "opaque" ? obj.type : obj.kind;
}

/** An int64 as the output visitor writes it, exact beyond 2^53. */
export function int64Out(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

export const qomList: CommandHandler = (state, args) => properties(state, resolve(state, String(args["path"]), true));

export const qomGet: CommandHandler = (state, args) => {
  const obj = resolve(state, String(args["path"]));
  const name = String(args["property"]);
  if (name === "type") return typeName(obj);
  // A child property's getter gives the child's canonical path; a NULL link's gives "".
  if (obj.kind === "opaque") {
    const child = obj.children.find((c) => c.name === name);
    if (child) return child.object.path;
    if (obj.links.includes(name)) return "";
    throw unmodelled(obj);
  }
  const prop = findProperty(state, obj, name);
  if (obj.kind === "container") return obj.children.find((c) => c.name === name)!.object.path;
  if (obj.kind === "iothread") return int64Out(state.aio.iothreads.get(obj.id)!.params.get(name)!);
  if (obj.kind === "throttle-group") {
    const cfg = state.throttleGroups.config(obj.id);
    if (name === "limits") return Object.fromEntries(Object.entries(limitsOf(cfg)).map(([k, v]) => [k, int64Out(v)]));
    return int64Out(throttleProperty(cfg, name.slice(2)));
  }
  // A secret exists only once it is loaded.
  if (prop.name === "loaded") return true;
  return state.secrets.property(obj.id, name as keyof SecretProps);
};

export const qomSet: CommandHandler = (state, args, raw) => {
  const obj = resolve(state, String(args["path"]));
  const name = String(args["property"]);
  const value = args["value"];
  // The setter visits the value as sent: a double, even a whole one, is no integer.
  const sent = raw?.["value"] ?? value;
  // `type` and child properties have no setter (object_property_set).
  if (obj.kind === "opaque") {
    if (name === "type" || obj.children.some((c) => c.name === name)) fail(`Property '${obj.type}.${name}' is not writable`);
    throw unmodelled(obj);
  }
  findProperty(state, obj, name);
  if (name === "type" || obj.kind === "container") fail(`Property '${typeName(obj)}.${name}' is not writable`);
  if (obj.kind === "secret") {
    // `loaded` has a getter only.
    if (name === "loaded") fail(`Property 'secret.loaded' is not writable`);
    visit(name === "format" ? secretFormatType() : "str", sent, name);
    state.secrets.setProperty(obj.id, name as keyof SecretProps, value as string);
    return {};
  }
  if (obj.kind === "throttle-group") {
    // throttle_group_set: a completed group takes no single limit.
    if (name !== "limits") fail("Property cannot be set after initialization");
    visit(limitsType(), sent, name);
    setLimits(state.throttleGroups.config(obj.id), value as Record<string, unknown>);
    return {};
  }
  visit("int", sent, name);
  if (!IOTHREAD_QOM_PROPERTIES.includes(name)) throw new Error(`model bug: iothread property '${name}'`);
  setIothreadProperty(state.aio.iothreads.get(obj.id)!, name, BigInt(value as number | bigint));
  return {};
};

/** QCryptoSecretFormat, the type of object-add's secret `format`. */
function secretFormatType(): string {
  const objectAdd = qmpSchema.types[qmpSchema.commands["object-add"]!.arg] as SchemaObject;
  const branch = qmpSchema.types[objectAdd.variants!["secret"]!] as SchemaObject;
  return branch.members.find((m) => m.name === "format")!.type;
}

/** The setter's visit of the value, a QObject input visitor named after the property. */
function visit(type: string, value: unknown, name: string): void {
  try {
    visitor.visitNamed(type, value, name);
  } catch (e) {
    if (e instanceof VisitError) fail(e.desc);
    throw e;
  }
}
