/** QDict option helpers: flattening, sub-dict extraction and QEMU's loose boolean parsing. */
import type { Flat } from "./graph.js";
import { fail } from "./qmp-failure.js";
import { qdictKeyOrder } from "../../qapi/qdict-order.js";
import { BDRV_CHILD_COW } from "./roles.js";

/**
 * `qdict_flatten`: nested dicts and lists become dotted keys ("file.driver", "perms.0"). Scalars of
 * the top level stay where they were inserted; the dotted keys are inserted after them, as
 * qdict_flatten_qdict finds them walking each dict in QDict order (and each list in order). The
 * insertion order is what later decides how keys sharing a bucket iterate.
 */
export function flatten(value: Record<string, unknown>): Flat {
  const out: Flat = {};
  const keys = Object.keys(value);
  for (const key of keys) if (!expands(value[key])) out[key] = value[key];
  for (const key of qdictKeyOrder(keys)) if (expands(value[key])) flattenInto(value[key] as object, key, out);
  return out;
}

/** Empty lists and dicts stay as they are: qdict_flatten only expands non-empty ones. */
function expands(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  return v !== null && typeof v === "object" && Object.keys(v).length > 0;
}

function flattenInto(v: object, prefix: string, out: Flat): void {
  const put = (key: string, item: unknown) => {
    if (expands(item)) flattenInto(item as object, key, out);
    else out[key] = item;
  };
  if (Array.isArray(v)) v.forEach((item, i) => put(`${prefix}.${i}`, item));
  else for (const key of qdictKeyOrder(Object.keys(v))) put(`${prefix}.${key}`, (v as Record<string, unknown>)[key]);
}

/**
 * `qdict_clone_shallow`: the copy is filled walking the source in QDict order, so keys that share a
 * bucket are inserted newest first and iterate the other way round in the copy.
 */
export function qdictClone(src: Flat): Flat {
  const out: Flat = {};
  for (const key of qdictKeyOrder(Object.keys(src))) out[key] = src[key];
  return out;
}

/** `qdict_join(dest, src, false)`: what `dest` lacks, taken from `src` walked in QDict order. */
export function qdictJoin(dest: Flat, src: Flat): void {
  for (const key of qdictKeyOrder(Object.keys(src))) if (!(key in dest)) dest[key] = src[key];
}

/**
 * A child's options as bdrv_open_inherit's children get them: taken (qdict_extract_subqdict) from
 * the copy it makes of the node's options once they are bs->options (`options =
 * qdict_clone_shallow(options)`), so keys sharing a bucket reach the child in the order they were
 * inserted into the parent's. They leave the parent's options too, as bdrv_open_inherit drops them
 * from bs->options.
 */
export function extractChildOptions(options: Flat, prefix: string): Flat {
  const sub = extractSub(qdictClone(options), prefix);
  for (const key of Object.keys(options)) if (key.startsWith(prefix)) delete options[key];
  return sub;
}

/** `qdict_extract_subqdict`: move "prefix.*" keys out of `options` into a new dict without the prefix. */
export function extractSub(options: Flat, prefix: string): Flat {
  const sub: Flat = {};
  const moved: string[] = [];
  for (const key in options) if (key.startsWith(prefix)) moved.push(key);
  // The source is walked in QDict order: keys sharing a bucket reach the new dict newest first. The
  // order of the keys moved among themselves is all that shows, and QDict order, ascending bucket
  // and newest first within one, orders any subset of the keys as it orders them all.
  for (const key of qdictKeyOrder(moved)) {
    sub[key.slice(prefix.length)] = options[key];
    delete options[key];
  }
  return sub;
}

/** Whether any key starts with `prefix`. */
export function hasSub(options: Flat, prefix: string): boolean {
  for (const key in options) if (key.startsWith(prefix)) return true;
  return false;
}

/**
 * A boolean option as QemuOpts parses it (qapi_bool_parse: QAPI gives booleans; inherited defaults
 * are "on"/"off"; qemu-io's `reopen -o` passes what was typed).
 */
export function optBool(value: unknown, fallback = false): boolean {
  if (value === undefined) return fallback;
  return value === true || value === "on" || value === "true" || value === "yes" || value === "y";
}

/** How QemuOpts prints a value it absorbed from a QDict. */
function qemuOptString(v: unknown): unknown {
  if (typeof v === "boolean") return v ? "on" : "off";
  if (typeof v === "number") return String(v);
  return v;
}

/**
 * `qemu_opts_to_qdict` after `qemu_opts_absorb_qdict`: the options among `keys` come back as the
 * strings QemuOpts keeps, so a reopen compares them as strings.
 */
export function qemuOptsToQdict(opts: Flat, keys: readonly string[]): void {
  for (const k of keys) if (k in opts) opts[k] = qemuOptString(opts[k]);
}

/** The list stored flattened under "key.0", "key.1", … */
export function flatList(options: Flat, key: string): unknown[] {
  const list: unknown[] = [];
  for (let i = 0; `${key}.${i}` in options; i++) list.push(options[`${key}.${i}`]);
  return list;
}

/** `qobject_is_equal` for flattened scalars (types matter: 1 is not "1"). */
export function sameValue(a: unknown, b: unknown): boolean {
  return a === b;
}

/** `qdict_copy_default`: copy `key` from `src` unless `dst` has it. */
export function copyDefault(dst: Flat, src: Flat, key: string): void {
  if (!(key in dst) && key in src) dst[key] = src[key];
}

/** `qdict_set_default_str`. */
export function setDefault(dst: Flat, key: string, value: unknown): void {
  if (!(key in dst)) dst[key] = value;
}

/** `bdrv_inherited_options` of child_of_bds: what an inline child takes from its parent's options. */
export function inheritChildOptions(child: Flat, parent: Flat, role: number): void {
  copyDefault(child, parent, "cache.direct");
  copyDefault(child, parent, "cache.no-flush");
  copyDefault(child, parent, "force-share");
  if (role & BDRV_CHILD_COW) {
    // Backing files are opened read-only by default.
    setDefault(child, "read-only", "on");
    setDefault(child, "auto-read-only", "off");
  } else {
    copyDefault(child, parent, "read-only");
    copyDefault(child, parent, "auto-read-only");
  }
  setDefault(child, "discard", "unmap");
}

/**
 * `bdrv_parse_detect_zeroes` against the open flags: unmapping zero writes needs BDRV_O_UNMAP,
 * which inline children get from their parent and a root node only from discard=unmap.
 */
export function checkDetectZeroes(options: Flat, unmap: boolean): void {
  if (options["detect-zeroes"] === "unmap" && !unmap) {
    fail("setting detect-zeroes to unmap is not allowed without setting discard operation to unmap");
  }
}
