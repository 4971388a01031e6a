/**
 * Which arguments of a QMP command name a host path, found by walking the command's arguments along
 * QEMU 7.2's QAPI schema (src/qapi/generated/qmp-schema.ts, qemu-storage-daemon's own
 * introspection): objects by member, flat unions by their tag's branch, lists by element,
 * alternates by the JSON type of the value.
 *
 * Introspection types every path as a plain `str`, so what makes one a path is its member's name,
 * and for a few names where it sits (PATH_MEMBERS). A string reached through an alternate is never a
 * path: in the block layer's alternates (BlockdevRef and the like) the string branch is a node name.
 *
 * qemu-system's own commands are not in the daemon's schema; the few of them that take a host path
 * are listed in system-commands.ts.
 */
import { qmpSchema } from "./generated/qmp-schema.js";
import type { SchemaObject, SchemaType } from "./schema-types.js";
import { SYSTEM_PATH_ARGUMENTS } from "./system-commands.js";

/** One path-valued argument, as written. */
export interface PathArgument {
  /** Where it is: "filename", "backend.data.out", "addr.data.path". */
  at: string;
  /** Its member name ("filename"). */
  name: string;
  /** The path itself (after any prefix such as `unix:`). */
  path: string;
  /** What comes before the path in the value ("" or a scheme such as "unix:"). */
  prefix: string;
}

/**
 * Member names whose string value is a host path: anywhere, or only under one of the listed union
 * branches (or in one of the listed commands), where the same name means something else elsewhere.
 */
export const PATH_MEMBERS: Readonly<Record<string, readonly string[] | "anywhere">> = {
  filename: "anywhere", // file/host_device/host_cdrom nodes, blockdev-create, rng-random, authz-listfile
  "snapshot-file": "anywhere", // blockdev-snapshot-sync: the overlay it creates
  "backing-file": "anywhere", // block-stream, block-commit, blockdev-create: written into an image header
  mountpoint: "anywhere", // fuse exports
  config: "anywhere", // blkdebug rules
  conf: "anywhere", // rbd's ceph configuration
  logfile: "anywhere", // chardev logs, gluster's log
  dir: "anywhere", // vvfat's directory, tls-creds directories
  in: "anywhere", // chardev file backend
  out: "anywhere",
  "mem-path": "anywhere",
  evdev: "anywhere",
  "dh-cert-file": "anywhere",
  "session-file": "anywhere",
  "sev-device": "anywhere",
  file: "anywhere", // object-add secret, filter-dump (a blockdev `file` is a node reference)
  log: "anywhere", // qtest's log (blklogwrites' `log` is a node reference)
  path: ["unix", "pr-manager-helper"], // UNIX sockets: nbd-server-start, NBD clients, chardevs, vhost-user
  target: ["drive-backup", "drive-mirror"], // the image they create (elsewhere `target` is a node)
  device: ["serial", "parallel", "pipe"], // chardev host devices (elsewhere `device` is a node or BlockBackend)
};

/** Every path argument of `command` in `args` (both as written). Arguments the schema does not know are skipped. */
export function pathArguments(command: string, args: unknown): PathArgument[] {
  const system = SYSTEM_PATH_ARGUMENTS[command];
  if (system) return systemPaths(system, args);
  const cmd = qmpSchema.commands[command];
  if (!cmd) return [];
  const out: PathArgument[] = [];
  walk(cmd.arg, args, "", [command], out);
  return out;
}

function isDict(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `contexts`: the command and every union branch taken on the way down, innermost last. */
function walk(typeName: string, value: unknown, at: string, contexts: readonly string[], out: PathArgument[]): void {
  const t: SchemaType | undefined = qmpSchema.types[typeName];
  if (!t) return;
  if (t.kind === "array") {
    if (Array.isArray(value)) value.forEach((v, i) => walk(t.element, v, `${at}[${i}]`, contexts, out));
  } else if (t.kind === "object") {
    if (isDict(value)) walkObject(t, value, at, contexts, out);
  } else if (t.kind === "alternate") {
    // The branch the value's JSON type picks; a string branch here is a name, not a path.
    const branch = t.members.find((m) => {
      const bt = qmpSchema.types[m];
      return (bt?.kind === "object" && isDict(value)) || (bt?.kind === "array" && Array.isArray(value));
    });
    if (branch) walk(branch, value, at, contexts, out);
  }
}

function walkObject(t: SchemaObject, dict: Record<string, unknown>, at: string, contexts: readonly string[], out: PathArgument[]): void {
  const members = [...t.members];
  let inner = contexts;
  if (t.tag !== undefined && typeof dict[t.tag] === "string") {
    const branch = t.variants?.[dict[t.tag] as string];
    if (branch) {
      members.push(...(qmpSchema.types[branch] as SchemaObject).members);
      inner = [...contexts, dict[t.tag] as string];
    }
  }
  for (const m of members) {
    if (!Object.hasOwn(dict, m.name)) continue;
    const v = dict[m.name];
    const where = at ? `${at}.${m.name}` : m.name;
    const mt = qmpSchema.types[m.type];
    if (mt?.kind === "builtin" && mt.json === "string") {
      if (typeof v === "string" && isPathMember(m.name, inner)) out.push({ at: where, name: m.name, path: v, prefix: "" });
    } else {
      walk(m.type, v, where, inner, out);
    }
  }
}

function isPathMember(name: string, contexts: readonly string[]): boolean {
  const rule = PATH_MEMBERS[name];
  if (rule === undefined) return false;
  return rule === "anywhere" || rule.some((c) => contexts.includes(c));
}

/** A qemu-system command's path arguments: top-level string members, some with a scheme prefix. */
function systemPaths(spec: Readonly<Record<string, string>>, args: unknown): PathArgument[] {
  if (!isDict(args)) return [];
  const out: PathArgument[] = [];
  for (const [name, prefix] of Object.entries(spec)) {
    const v = args[name];
    if (typeof v === "string" && v.startsWith(prefix)) out.push({ at: name, name, path: v.slice(prefix.length), prefix });
  }
  return out;
}
