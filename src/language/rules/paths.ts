/**
 * Files live in the scenario's scratch directory: an absolute path, or `..` that climbs out of it,
 * is an error wherever a path is written (image paths, `backing=`, `filename=`-like options, and the
 * path arguments of `qmp` commands, which src/qapi/path-arguments.ts finds along QEMU's schema).
 * This holds even for statements written to fail.
 */
import type { Location, OptionNode, Value } from "../ast.js";
import { error, type Diagnostic } from "../diagnostic.js";
import type { SchemaView } from "../schema.js";
import { pathArguments, type PathArgument } from "../../qapi/path-arguments.js";
import { steps } from "../walk.js";
import type { Rule } from "./rule.js";

export const scratchPaths: Rule = {
  name: "scratch-paths",
  on: "expansion",
  check({ scenario, schema }) {
    const out: Diagnostic[] = [];
    const checkValue = (v: Value) => {
      if (v.type === "word" || v.type === "string") checkPath(v.value, v.location, out);
    };
    for (const s of steps(scenario)) {
      if (s.type === "image") {
        checkValue(s.path);
        // qemu-img resolves a backing file name against the image's directory.
        const dir = s.path.value.includes("/") ? s.path.value.slice(0, s.path.value.lastIndexOf("/")) : "";
        for (const o of s.options) {
          if (o.key === "data-file") checkValue(o.value);
          if (o.key === "backing" && (o.value.type === "word" || o.value.type === "string")) checkPath(o.value.value, o.value.location, out, dir);
        }
      }
      if (s.type === "add") checkOptions(s.driver.name, s.options, schema, checkValue);
      if (s.type === "reopen") for (const e of s.entries) checkOptions(undefined, e.options, schema, checkValue);
      if (s.type === "qmp" && s.args) {
        for (const arg of pathArguments(s.command.name, s.args.value)) checkQmpPath(arg, s.args.location, out);
      }
    }
    return out;
  },
};

/** True for keys that name a host file whatever the driver (`filename`, `file.filename`). */
function isFilenameKey(key: string): boolean {
  return key === "filename" || key.endsWith(".filename");
}

function checkOptions(
  driver: string | undefined,
  options: readonly OptionNode[],
  schema: SchemaView,
  checkValue: (v: Value) => void,
): void {
  for (const o of options) {
    if (o.value.type === "child") {
      checkOptions(o.value.driver.name, o.value.options, schema, checkValue);
    } else if (isFilenameKey(o.key) || (driver !== undefined && schema.lookupOption(driver, o.key)?.path)) {
      checkValue(o.value);
    }
  }
}

/**
 * Path members whose value is a name written into an image's header, which QEMU resolves against
 * that image's directory when it opens the backing file: a relative one is the usual form and stays
 * in the scratch directory unless it climbs out.
 */
const HEADER_NAMES: ReadonlySet<string> = new Set(["backing-file"]);

/** qmp arguments are sent as written (only `$TEST_DIR` is replaced), so a file must start there. */
function checkQmpPath(arg: PathArgument, location: Location, out: Diagnostic[]): void {
  const prefix = "$TEST_DIR/";
  const path = arg.path;
  if (path.startsWith(prefix)) {
    // `$TEST_DIR//x` is `$TEST_DIR/x`: repeated slashes name one directory.
    checkPath(path.slice(prefix.length).replace(/^\/+/, ""), location, out);
  } else if (path.startsWith("/") || HEADER_NAMES.has(arg.name)) {
    checkPath(path, location, out);
  } else {
    out.push(
      error(`qmp ${arg.at} '${path}' is not in the scratch directory`, location, [
        `qmp arguments are sent as written: write "${arg.prefix}${prefix}${path}"`,
      ]),
    );
  }
}

/**
 * Reports `path` if it is absolute or climbs out of the scratch directory; a relative `path` is
 * taken from `dir` (a directory in the scratch directory, "" for its top).
 */
export function checkPath(path: string, location: Location, out: Diagnostic[], dir = ""): void {
  if (path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path)) {
    out.push(
      error(`absolute path '${path}' escapes the scratch directory`, location, [
        "paths are relative to the scenario's scratch directory",
      ]),
    );
    return;
  }
  let depth = 0;
  for (const part of dir.split("/")) {
    if (part === "..") depth--;
    else if (part !== "." && part !== "") depth++;
  }
  for (const part of path.split("/")) {
    if (part === "..") depth--;
    else if (part !== "." && part !== "") depth++;
    if (depth < 0) {
      out.push(error(`path '${path}' escapes the scratch directory`, location, ["'..' climbs above the scratch directory"]));
      return;
    }
  }
}
