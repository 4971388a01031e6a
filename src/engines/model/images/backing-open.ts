/**
 * The backing file's open in `bdrv_img_create` (qemu-img create without -u): before the format
 * creates anything, the name is opened in the backing format, shared and without I/O. The model
 * answers for a plain file (it must be there; a qcow2 one must have a header the driver takes), for
 * a `json:` name that describes one (its options name the file, relative to QEMU's working
 * directory, the scratch directory), and for the null-co and null-aio protocols under raw, which
 * always open, and a `file:` name (from the working directory too). Any other pseudo-filename is one the model cannot open: it says so rather than guess.
 */
import { dirname, isAbsolute, join } from "node:path";
import type { ImageSpec } from "../../engine.js";
import { ModelUnsupportedError } from "../model-unsupported.js";
import { ImageSpecError } from "./image-errors.js";
import type { ImageSurroundings } from "./image-layout.js";
import { qcow2OpenRefusal } from "./read-image.js";

/** Protocols whose nodes open whatever the name says after them. */
const ALWAYS_OPEN = new Set(["null-co", "null-aio"]);

/** `path_has_protocol`: a ':' before any '/' or '\'. */
function protocolOf(name: string): string | undefined {
  const m = /^([^:/\\]*):/.exec(name);
  return m ? m[1] : undefined;
}

/** qemu-img's error for a backing file that does not open: the open's, then error_append_hint's line. */
function refused(message: string): ImageSpecError {
  return new ImageSpecError(`${message}\nCould not open backing image.`);
}

/** Open `path` (as QEMU names it in its error) at `absPath` in `format`; throws what qemu-img says. */
function openFile(around: ImageSurroundings, shown: string, absPath: string, format: string | undefined): void {
  const head = around.read(absPath, 0, 2048);
  if (head === undefined) throw refused(`Could not open '${shown}': No such file or directory`);
  const refusal = format === "qcow2" ? qcow2OpenRefusal(head) : undefined;
  if (refusal !== undefined) throw refused(refusal);
}

/**
 * `json:{…}` (parse_json_filename, then qdict_flatten): the explicit backing format wins over the
 * JSON's driver (bdrv_fill_options joins without overwriting); the file is `file.filename` under a
 * format, or `filename` of a file node. Other options the model does not weigh.
 */
function openJson(spec: ImageSpec, around: ImageSurroundings, name: string): void {
  let options: unknown;
  try {
    options = JSON.parse(name.slice("json:".length));
  } catch {
    throw new ModelUnsupportedError(`a backing file name 'json:' whose JSON does not parse (${name})`);
  }
  const flat = flatten(options);
  const driver = spec.backingFormat ?? flat.get("driver");
  const fileDriver = flat.get("file.driver");
  // A file node opens `filename`; a format opens its file from `file.filename` (a bare `filename`
  // leaves it without one: "A block device must be specified for \"file\"", not modelled).
  const keys = driver === "file" ? ["driver", "filename"] : ["driver", "file.driver", "file.filename"];
  const filename = flat.get(keys[keys.length - 1]!);
  const extra = [...flat.keys()].filter((k) => !keys.includes(k));
  if (typeof filename !== "string" || (fileDriver !== undefined && fileDriver !== "file") || extra.length > 0 || typeof driver !== "string") {
    throw new ModelUnsupportedError(`opening the backing file '${name}' of a new image`);
  }
  openFile(around, filename, isAbsolute(filename) ? filename : join(scratchDir(spec, around), filename), driver === "file" ? undefined : driver);
}

/** The scratch directory, QEMU's working directory: the image's path is relative to it. */
function scratchDir(spec: ImageSpec, around: ImageSurroundings): string {
  const depth = spec.path.split("/").filter((p) => p !== "" && p !== ".").length - 1;
  let dir = dirname(around.absPath);
  for (let i = 0; i < depth; i++) dir = dirname(dir);
  return dir;
}

/** qdict_flatten: nested objects become dotted keys. */
function flatten(value: unknown, prefix = "", out = new Map<string, unknown>()): Map<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    out.set(prefix, value);
    return out;
  }
  for (const [k, v] of Object.entries(value)) {
    const key = prefix === "" ? k : `${prefix}.${k}`;
    if (v !== null && typeof v === "object" && !Array.isArray(v)) flatten(v, key, out);
    else out.set(key, v);
  }
  return out;
}

/** Open the backing file `spec` names, as qemu-img create does; throws ImageSpecError with its message. */
export function openBackingFile(spec: ImageSpec, around: ImageSurroundings): void {
  const backing = spec.backingFile!;
  if (backing.startsWith("json:")) return openJson(spec, around, backing);
  const protocol = protocolOf(backing);
  if (protocol === "file") {
    // A name with a protocol is not joined to the image's directory: the rest is opened from
    // QEMU's working directory, and named without its prefix (raw_parse_filename).
    const rest = backing.slice("file:".length);
    return openFile(around, rest, isAbsolute(rest) ? rest : join(scratchDir(spec, around), rest), spec.backingFormat);
  }
  if (protocol !== undefined) {
    if (ALWAYS_OPEN.has(protocol) && spec.backingFormat === "raw") return;
    throw new ModelUnsupportedError(`opening the backing file '${backing}' of a new image`);
  }
  // A plain name is relative to the new image's directory, joined as path_combine does.
  const relDir = dirname(spec.path);
  const shown = isAbsolute(backing) || relDir === "." ? backing : `${relDir}/${backing}`;
  openFile(around, shown, isAbsolute(backing) ? backing : join(dirname(around.absPath), backing), spec.backingFormat);
}
