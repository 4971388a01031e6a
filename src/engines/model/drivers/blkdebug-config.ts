/**
 * blkdebug's rules as `blkdebug_open` → `read_config` (block/blkdebug.c) reads them: the `config`
 * file through `qemu_config_parse` (util/qemu-config.c, sscanf and all), then the `inject-error` /
 * `set-state` options, then `add_rule` for each section: QEMU's errors, word for word and in QEMU's
 * order, and the sections for blkdebug-rules.ts to turn into rules.
 *
 * One QEMU quirk is kept: `qemu_config_foreach` reports an error in the file's *last* section
 * through errp but still returns success, so `read_config` carries on and `blkdebug_open` goes on
 * with the error pending. It surfaces when bdrv_open_driver's refresh_limits looks at the error
 * (blockdev-add fails with it), unless something else fails first: error_setv then finds errp
 * already set and asserts. The caller gets such an error as `pending`.
 */
import { readFileSync } from "node:fs";
import { qmpSchema } from "../../../qapi/generated/qmp-schema.js";
import { qdictKeyOrder } from "../../../qapi/qdict-order.js";
import type { SchemaArray, SchemaEnum, SchemaObject } from "../../../qapi/schema-types.js";
import type { HostFiles } from "../data/host-file.js";
import { fail } from "../qmp-failure.js";

type OptType = "string" | "number" | "bool";

/** The two QemuOptsLists of blkdebug's config_groups, with their option types. */
const GROUPS: Readonly<Record<string, Readonly<Record<string, OptType>>>> = {
  "inject-error": { event: "string", state: "number", iotype: "string", errno: "number", sector: "number", once: "bool", immediately: "bool" },
  "set-state": { event: "string", state: "number", new_state: "number" },
};

/** One QemuOpts: a section of a group. */
interface Section {
  id?: string;
  values: Map<string, string>;
}

/** What read_config leaves for the rest of the open. */
export interface BlkdebugConfigOutcome {
  /** An error already set but not yet reported (see the file comment). */
  pending?: string;
  /** The rules' sections in add_rule order: every inject-error section, then every set-state one. */
  rules: RuleSection[];
}

/** One rule as read: its group and its values (QemuOpts strings, checked). */
export interface RuleSection {
  group: "inject-error" | "set-state";
  values: ReadonlyMap<string, string>;
}

/**
 * read_config(): `config` is the file as written (for messages) and its path resolved; `options` the
 * node's flat options (for `inject-error.N.*` and `set-state.N.*`). Throws QmpFailure with QEMU's
 * message, except for an error QEMU leaves pending.
 */
export function readBlkdebugConfig(config: { path: string; files: HostFiles } | undefined, options: Readonly<Record<string, unknown>>): BlkdebugConfigOutcome {
  const lists: Record<string, Section[]> = { "inject-error": [], "set-state": [] };
  let pending: string | undefined;
  // error_propagate() keeps the first error: once one is pending, later ones report it instead.
  const error = (message: string): never => fail(pending ?? message);
  if (config) pending = parseConfigFile(readConfigFile(config.path, config.files), lists);
  for (const group of Object.keys(GROUPS)) {
    for (const section of optionSections(group, options)) addSection(lists, group, section, error);
  }
  for (const group of Object.keys(GROUPS)) for (const section of lists[group]!) addRule(group, section, error);
  const rules: RuleSection[] = (["inject-error", "set-state"] as const).flatMap((group) => lists[group]!.map((section) => ({ group, values: section.values })));
  return pending === undefined ? { rules } : { pending, rules };
}

/**
 * The file's bytes as one char per byte (C reads bytes); `fopen` and `fgets` errors as QEMU words
 * them. A file the model made (an `image` step) is in the engine's host files, not on disk.
 */
function readConfigFile(path: string, files: HostFiles): string {
  const held = files.entry(path);
  if (held.kind === "file") return held.file.read(0, held.file.length).toBuffer().toString("latin1");
  if (held.kind === "directory") fail("Cannot read config file: Is a directory");
  try {
    return readFileSync(path).toString("latin1");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "";
    // fopen() of a directory succeeds on Linux; the first fgets() fails.
    if (code === "EISDIR") fail("Cannot read config file: Is a directory");
    fail(`Could not read blkdebug config file: ${STRERROR[code] ?? "Input/output error"}`);
  }
}

const STRERROR: Readonly<Record<string, string>> = {
  ENOENT: "No such file or directory",
  EACCES: "Permission denied",
  ENOTDIR: "Not a directory",
  ELOOP: "Too many levels of symbolic links",
  ENAMETOOLONG: "File name too long",
};

/** The text of a C string read from the file, for a message (bytes back to UTF-8). */
const shown = (bytes: string) => Buffer.from(bytes, "latin1").toString("utf8");

/**
 * qemu_config_foreach() with qemu_config_do_parse() as its callback. Returns the error of the last
 * section's callback, which QEMU leaves pending; every other error is thrown.
 */
function parseConfigFile(text: string, lists: Record<string, Section[]>): string | undefined {
  let qdict: Map<string, string> | undefined;
  let group = "";
  let prevGroup = "";
  for (const line of fgetsLines(text)) {
    if (line[0] === "\n" || line[0] === "#") continue;
    if (line[0] === "[") {
      const prev = qdict;
      const withId = scanSectionWithId(line);
      if (withId.group !== undefined) group = withId.group; // %63s assigns even when the match fails later
      if (withId.id !== undefined) {
        qdict = new Map([["id", withId.id]]);
      } else {
        const plain = scanSection(line);
        if (plain !== undefined) {
          group = plain;
          qdict = new Map();
        }
      }
      if (qdict !== prev) {
        if (prev) doParse(prevGroup, prev, lists, (m) => fail(m));
        prevGroup = group;
        continue;
      }
    }
    const arg = scanArg(line);
    if (arg === undefined) fail("parse error");
    if (!qdict) fail("no group defined");
    qdict.set(arg.key, arg.value);
  }
  if (!qdict) return undefined;
  let pending: string | undefined;
  doParse(group, qdict, lists, (m) => {
    pending = m;
  });
  return pending;
}

/** fgets() with a 1024-byte buffer: lines with their "\n", longer ones in pieces of 1023 bytes; C strings end at NUL. */
function* fgetsLines(text: string): Generator<string> {
  let at = 0;
  while (at < text.length) {
    const nl = text.indexOf("\n", at);
    const end = Math.min(nl < 0 ? text.length : nl + 1, at + 1023);
    const piece = text.slice(at, end);
    at = end;
    const nul = piece.indexOf("\0");
    yield nul < 0 ? piece : piece.slice(0, nul);
  }
}

const isSpace = (c: string | undefined) => c !== undefined && " \t\n\v\f\r".includes(c);

/** sscanf's `%Ns`: skip blanks, then up to `n` non-blanks; undefined when there are none. */
function scanWord(s: string, at: number, n: number): { word: string; at: number } | undefined {
  while (isSpace(s[at])) at++;
  const start = at;
  while (at < s.length && at - start < n && !isSpace(s[at])) at++;
  return at > start ? { word: s.slice(start, at), at } : undefined;
}

/** sscanf's `%N[^c]`: 1 to `n` characters other than `stop`. */
function scanUntil(s: string, at: number, n: number, stop: string): { text: string; at: number } | undefined {
  const start = at;
  while (at < s.length && at - start < n && s[at] !== stop) at++;
  return at > start ? { text: s.slice(start, at), at } : undefined;
}

function skipSpace(s: string, at: number): number {
  while (isSpace(s[at])) at++;
  return at;
}

/** `sscanf(line, "[%63s \"%63[^\"]\"]", group, value)`: the id only when both conversions succeed. */
function scanSectionWithId(line: string): { group?: string; id?: string } {
  const g = scanWord(line, 1, 63);
  if (!g) return {};
  const at = skipSpace(line, g.at);
  if (line[at] !== '"') return { group: g.word };
  const v = scanUntil(line, at + 1, 63, '"');
  return v ? { group: g.word, id: v.text } : { group: g.word };
}

/** `sscanf(line, "[%63[^]]]", group) == 1`. */
function scanSection(line: string): string | undefined {
  return scanUntil(line, 1, 63, "]")?.text;
}

/**
 * `sscanf(line, " %63s = \"%1023[^\"]\"", arg, value) == 2 || sscanf(line, " %63s = \"\"", arg) == 1`.
 * The second test holds whenever a word was read at all, so any line with a word is `arg = ""` at
 * worst; only a blank line is a parse error.
 */
function scanArg(line: string): { key: string; value: string } | undefined {
  const w = scanWord(line, 0, 63);
  if (!w) return undefined;
  let at = skipSpace(line, w.at);
  if (line[at] === "=") {
    at = skipSpace(line, at + 1);
    if (line[at] === '"') {
      const v = scanUntil(line, at + 1, 1023, '"');
      if (v) return { key: w.word, value: v.text };
    }
  }
  return { key: w.word, value: "" };
}

/** qemu_config_do_parse(): find_list(), then qemu_opts_from_qdict(). */
function doParse(group: string, qdict: Map<string, string>, lists: Record<string, Section[]>, error: (m: string) => void): void {
  if (!GROUPS[group]) return error(`There is no option group '${shown(group)}'`);
  const section: Section = { values: new Map() };
  const id = qdict.get("id");
  if (id !== undefined) section.id = id;
  addSection(lists, group, section, error, qdict);
}

/**
 * qemu_opts_create(list, id, fail_if_exists=1) and qemu_opt_set() for each entry in QDict order; the
 * section is kept only when all of it is valid.
 */
function addSection(lists: Record<string, Section[]>, group: string, section: Section, error: (m: string) => void, entries?: Map<string, string>): void {
  const list = lists[group]!;
  if (section.id !== undefined) {
    if (!idWellformed(section.id)) return error("Parameter 'id' expects an identifier");
    if (list.some((s) => s.id === section.id)) return error(`Duplicate ID '${shown(section.id)}' for ${group}`);
  }
  const source = entries ?? section.values;
  const values = new Map<string, string>();
  for (const key of qdictKeyOrder([...source.keys()])) {
    if (key === "id") continue;
    const value = source.get(key)!;
    const type = GROUPS[group]![key];
    if (!type) return error(`Invalid parameter '${shown(key)}'`);
    const problem = type === "number" ? numberProblem(key, value) : type === "bool" ? boolProblem(key, value) : undefined;
    if (problem) return error(problem);
    values.set(key, value);
  }
  list.push({ ...(section.id !== undefined ? { id: section.id } : {}), values });
}

/** id_wellformed(): a letter, then letters, digits, '-', '.', '_'. */
function idWellformed(id: string): boolean {
  return /^[A-Za-z][A-Za-z0-9._-]*$/.test(id);
}

/** parse_option_number(): qemu_strtou64(value, NULL, 0), i.e. strtoull that must use the whole string. */
function numberProblem(name: string, value: string): string | undefined {
  const m = /^[ \t\n\v\f\r]*[+-]?(0[xX](?=[0-9a-fA-F])[0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(value);
  if (!m || m[0].length !== value.length) return `Parameter '${shown(name)}' expects a number`;
  const digits = m[1]!;
  const magnitude = /^0[xX]/.test(digits) ? BigInt(digits) : digits.length > 1 && digits[0] === "0" ? BigInt(`0o${digits.slice(1)}`) : BigInt(digits);
  if (magnitude > 2n ** 64n - 1n) return `Value '${shown(value)}' is too large for parameter '${shown(name)}'`;
  return undefined;
}

/** qapi_bool_parse(). */
function boolProblem(name: string, value: string): string | undefined {
  return ["on", "yes", "true", "y", "off", "no", "false", "n"].includes(value) ? undefined : `Parameter '${shown(name)}' expects 'on' or 'off'`;
}

/**
 * config_parse_qdict_section(): the `group.N.*` options as sections `group.N`. QAPI has checked
 * their types, so only their ids can clash (with a section of the file that took the same id).
 */
function* optionSections(group: string, options: Readonly<Record<string, unknown>>): Generator<Section> {
  const prefix = `${group}.`;
  const byIndex = new Map<number, Map<string, string>>();
  for (const [key, v] of Object.entries(options)) {
    const m = /^(\d+)\.(.+)$/.exec(key.startsWith(prefix) ? key.slice(prefix.length) : "");
    if (!m || v === undefined) continue;
    const values = byIndex.get(Number(m[1])) ?? new Map<string, string>();
    values.set(m[2]!, typeof v === "boolean" ? (v ? "on" : "off") : String(v));
    byIndex.set(Number(m[1]), values);
  }
  for (const index of [...byIndex.keys()].sort((a, b) => a - b)) yield { id: `${group}.${index}`, values: byIndex.get(index)! };
}

/** add_rule(): every section needs a known event; an inject-error section's iotype must be known. */
function addRule(group: string, section: Section, error: (m: string) => void): void {
  const event = section.values.get("event");
  if (event === undefined) return error("Missing event name for rule");
  if (!enumValues("event").includes(event)) return error(`invalid parameter value: ${shown(event)}`);
  const iotype = section.values.get("iotype");
  if (group === "inject-error" && iotype !== undefined && !enumValues("iotype").includes(iotype)) {
    error(`invalid parameter value: ${shown(iotype)}`);
  }
}

/** BlkdebugEvent's names, from the schema. */
export function blkdebugEvents(): string[] {
  return enumValues("event");
}

/** BlkdebugEvent or BlkdebugIOType, from the schema (the types of BlkdebugInjectErrorOptions' members). */
function enumValues(member: "event" | "iotype"): string[] {
  const add = qmpSchema.types[qmpSchema.commands["blockdev-add"]!.arg] as SchemaObject;
  const blkdebug = qmpSchema.types[add.variants!["blkdebug"]!] as SchemaObject;
  const list = qmpSchema.types[blkdebug.members.find((m) => m.name === "inject-error")!.type] as SchemaArray;
  const rule = qmpSchema.types[list.element] as SchemaObject;
  return (qmpSchema.types[rule.members.find((m) => m.name === member)!.type] as SchemaEnum).values;
}
