/**
 * Scenario options → the JSON blockdev-add, blockdev-reopen and object-add get, typed by QEMU's
 * schema. One conversion for the runner (which then resolves node references and scratch paths)
 * and the validator (which visits the result as QEMU's QAPI visitor would, before anything runs).
 *
 * - dotted keys become nested objects (`file.driver=file` → `{"file": {"driver": "file"}}`);
 * - an inline child `(NAME: DRIVER k=v)` becomes `{"driver": DRIVER, "node-name": NAME, …}`;
 * - a word for a child member is a node reference (`top/backing` names whatever node is there when
 *   the step runs), a word or string for a path member (`filename`) a path in the scratch
 *   directory, any other word a string (QEMU reports a word for a number itself); numbers, booleans
 *   (the word as written for a child, a path, a string or an enum with on/off), null, lists and
 *   JSON map to themselves;
 * - options QEMU does not know pass through unchanged, so QEMU reports them exactly as it does.
 */
import { BlockcheckError } from "../errors.js";
import { lookupOption, type OptionInfo } from "../qapi/blockdev-schema.js";
import type { Location, OptionNode, Value } from "./ast.js";

/** What the caller makes of the two values the schema alone cannot give. */
export interface OptionHooks<Ref> {
  /** A node reference as written (`top/backing`). */
  nodeRef(text: string, value: Value): Ref;
  /** A path member's value as written (`a.qcow2`). */
  path(text: string, location: Location): string;
}

/** Options that cannot make one dictionary: the same key twice, or a key both set and dotted into. */
export class OptionShapeError extends BlockcheckError {
  readonly location: Location;

  constructor(message: string, location: Location) {
    super("E_SCENARIO", message);
    this.location = location;
  }
}

/** A JSON dictionary whose node references are still the hooks' `Ref`s. */
export interface OptionDict<Ref> {
  [key: string]: OptionJson<Ref>;
}
export type OptionJson<Ref> = Ref | OptionDict<Ref> | OptionJson<Ref>[] | string | number | boolean | null | unknown;

/** Child members used when the driver is unknown to the schema (so the schema cannot say). */
const FALLBACK_CHILD_KEYS = new Set(["file", "backing", "image", "data-file"]);

interface Tree {
  [key: string]: OptionNode | Tree;
}

/** Options of one node as a nested dictionary; `driver` names the schema to type them by. */
export function optionsJson<Ref>(options: readonly OptionNode[], driver: string | undefined, hooks: OptionHooks<Ref>): OptionDict<Ref> {
  return convertTree(nest(options), driver, "", hooks);
}

/** The converted value of one option, e.g. for a reopen delta (`file.aio` under the node's driver). */
export function optionJson<Ref>(opt: OptionNode, driver: string | undefined, hooks: OptionHooks<Ref>): OptionJson<Ref> {
  return convertValue(opt.value, driver ? lookupOption(driver, opt.key) : undefined, opt.key, hooks);
}

function nest(options: readonly OptionNode[]): Tree {
  const root: Tree = {};
  for (const opt of options) {
    const parts = opt.key.split(".");
    let t = root;
    for (let i = 0; i < parts.length - 1; i++) {
      const p = parts[i]!;
      const next = t[p];
      if (next === undefined) t[p] = {};
      else if (isOptionNode(next)) {
        throw new OptionShapeError(`option '${opt.key}' conflicts with '${next.key}'`, opt.keyLocation);
      }
      t = t[p] as Tree;
    }
    const last = parts[parts.length - 1]!;
    if (t[last] !== undefined) throw new OptionShapeError(`option '${opt.key}' is given twice`, opt.keyLocation);
    t[last] = opt;
  }
  return root;
}

function isOptionNode(x: OptionNode | Tree): x is OptionNode {
  return (x as OptionNode).type === "option" && typeof (x as OptionNode).key === "string";
}

function convertTree<Ref>(tree: Tree, driver: string | undefined, prefix: string, hooks: OptionHooks<Ref>): OptionDict<Ref> {
  const out: OptionDict<Ref> = {};
  const info = (key: string) => (driver ? lookupOption(driver, prefix + key) : undefined);
  for (const [key, node] of Object.entries(tree)) {
    if (isOptionNode(node)) {
      out[key] = convertValue(node.value, info(key), node.key, hooks);
      continue;
    }
    if (info(key)?.kind === "struct") {
      out[key] = convertTree(node, driver, `${prefix}${key}.`, hooks);
    } else {
      const childDriver = node.driver && isOptionNode(node.driver) && node.driver.value.type === "word"
        ? node.driver.value.value
        : undefined;
      out[key] = convertTree(node, childDriver, "", hooks);
    }
  }
  return out;
}

function convertValue<Ref>(v: Value, info: OptionInfo | undefined, key: string, hooks: OptionHooks<Ref>): OptionJson<Ref> {
  const last = key.split(".").pop()!;
  const isChild = info ? info.kind === "child" : FALLBACK_CHILD_KEYS.has(last);
  switch (v.type) {
    case "child": {
      const dict: OptionDict<Ref> = { driver: v.driver.name };
      if (v.name) dict["node-name"] = v.name.name;
      Object.assign(dict, optionsJson(v.options, v.driver.name, hooks));
      return dict;
    }
    case "word":
      if (isChild) return hooks.nodeRef(v.value, v);
      if (info?.path) return hooks.path(v.value, v.location);
      // A word for a number or boolean member is sent as a string on purpose: QEMU's own type error
      // ("Invalid parameter type for 'size', expected: integer") is what a scenario tests.
      return v.value;
    case "string":
      return info?.path ? hooks.path(v.value, v.location) : v.value;
    case "number":
      return v.value;
    case "bool":
      // A child is never a boolean: `file=off` names a node called off. A path or a string member
      // takes the word as written, and so do enums that include on/off (detect-zeroes=on|off|unmap).
      if (isChild) return hooks.nodeRef(v.raw, v);
      if (info?.path) return hooks.path(v.raw, v.location);
      return info?.kind === "scalar" && (info.scalar === "enum" || info.scalar === "str") ? v.raw : v.value;
    case "null":
      return null;
    case "list":
      return v.items.map((item) => convertValue(item, undefined, key, hooks));
    case "json":
      return v.value;
  }
}
