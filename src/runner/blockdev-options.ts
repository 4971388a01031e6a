/**
 * Scenario options → blockdev-add / blockdev-reopen JSON.
 *
 * - dotted keys become nested objects (`file.driver=file` → `{"file": {"driver": "file"}}`);
 * - an inline child `(NAME: DRIVER k=v)` becomes `{"driver": DRIVER, "node-name": NAME, …}`;
 * - values are typed by QEMU's schema (lookupOption): a word for a child member is a node reference
 *   (a path like `top/backing` resolves to the node's current name), a word or string for a path
 *   member (`filename`) becomes an absolute path in the scratch directory, any other word is a
 *   string (QEMU reports a word for a number itself); numbers, booleans (the word as written for a
 *   child, a path, a string or an enum with on/off), null, lists and JSON map to themselves.
 * - options QEMU does not know pass through unchanged, so QEMU reports them exactly as it does.
 */
import type { OptionNode, Value } from "../language/ast.js";
import { lookupOption, type OptionInfo } from "../qapi/blockdev-schema.js";
import { StepError } from "./errors.js";
import type { QDict } from "./option-tracker.js";
import { scratchPath } from "./scratch-path.js";

/** How values are resolved: node references and scratch paths. */
export interface ValueResolver {
  workdir: string;
  /** Current node-name for a reference as written (`top/backing` → `#block123`). */
  nodeName(text: string, value: Value): Promise<string>;
}

/** Child members used when the driver is unknown to the schema (so the schema cannot say). */
const FALLBACK_CHILD_KEYS = new Set(["file", "backing", "image", "data-file"]);

interface Tree {
  [key: string]: OptionNode | Tree;
}

/** Options of one node (`driver` first when given) as a nested dictionary. */
export async function buildOptions(options: readonly OptionNode[], driver: string | undefined, r: ValueResolver): Promise<QDict> {
  return convertTree(nest(options), driver, "", r);
}

/** The converted value of one option, e.g. for a reopen delta (`file.aio` under the node's driver). */
export async function convertOption(opt: OptionNode, driver: string | undefined, r: ValueResolver): Promise<unknown> {
  return convertValue(opt.value, driver ? lookupOption(driver, opt.key) : undefined, opt.key, r);
}

/** Dotted keys into a tree of option nodes; the same key twice, or a key both set and dotted into, is an error. */
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
        throw new StepError(`option '${opt.key}' conflicts with '${next.key}'`, opt.keyLocation);
      }
      t = t[p] as Tree;
    }
    const last = parts[parts.length - 1]!;
    if (t[last] !== undefined) throw new StepError(`option '${opt.key}' is given twice`, opt.keyLocation);
    t[last] = opt;
  }
  return root;
}

function isOptionNode(x: OptionNode | Tree): x is OptionNode {
  return (x as OptionNode).type === "option" && typeof (x as OptionNode).key === "string";
}

async function convertTree(tree: Tree, driver: string | undefined, prefix: string, r: ValueResolver): Promise<QDict> {
  const out: QDict = {};
  const info = (key: string) => (driver ? lookupOption(driver, prefix + key) : undefined);
  for (const [key, node] of Object.entries(tree)) {
    if (isOptionNode(node)) {
      out[key] = await convertValue(node.value, info(key), node.key, r);
      continue;
    }
    const i = info(key);
    if (i?.kind === "struct") {
      out[key] = await convertTree(node, driver, `${prefix}${key}.`, r);
    } else {
      const childDriver = node.driver && isOptionNode(node.driver) && node.driver.value.type === "word"
        ? node.driver.value.value
        : undefined;
      out[key] = await convertTree(node, childDriver, "", r);
    }
  }
  return out;
}

async function convertValue(v: Value, info: OptionInfo | undefined, key: string, r: ValueResolver): Promise<unknown> {
  const last = key.split(".").pop()!;
  const isChild = info ? info.kind === "child" : FALLBACK_CHILD_KEYS.has(last);
  switch (v.type) {
    case "child": {
      const dict: QDict = { driver: v.driver.name };
      if (v.name) dict["node-name"] = v.name.name;
      Object.assign(dict, await buildOptions(v.options, v.driver.name, r));
      return dict;
    }
    case "word":
      if (isChild) return r.nodeName(v.value, v);
      if (info?.path) return scratchPath(r.workdir, v.value, v.location);
      // A word for a number or boolean member is sent as a string on purpose: QEMU's own type error
      // ("Invalid parameter type for 'size', expected: integer") is what a scenario tests.
      return v.value;
    case "string":
      return info?.path ? scratchPath(r.workdir, v.value, v.location) : v.value;
    case "number":
      return v.value;
    case "bool":
      // A child is never a boolean: `file=off` names a node called off. A path or a string member
      // takes the word as written, and so do enums that include on/off (detect-zeroes=on|off|unmap).
      if (isChild) return r.nodeName(v.raw, v);
      if (info?.path) return scratchPath(r.workdir, v.raw, v.location);
      return info?.kind === "scalar" && (info.scalar === "enum" || info.scalar === "str") ? v.raw : v.value;
    case "null":
      return null;
    case "list":
      return Promise.all(v.items.map((item) => convertValue(item, undefined, key, r)));
    case "json":
      return v.value;
  }
}
