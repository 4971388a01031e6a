/**
 * `unix_listen_saddr` (util/qemu-sockets.c), as nbd-server-start opens a UNIX socket: the path is
 * unlinked first (a missing one is fine), then bound, which makes the socket file. What the model
 * follows is where either fails, and an old socket replaced by the new one; a path that holds
 * another file, which QEMU would delete, is left to QEMU.
 */
import { lstatSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { HostFiles } from "../data/host-file.js";
import { ModelUnsupportedError } from "../model-unsupported.js";
import { fail } from "../qmp-failure.js";

type Kind = "file" | "directory" | "socket" | "none";

function kindAt(files: HostFiles, absPath: string): Kind {
  const entry = files.entry(absPath);
  if (entry.kind !== "disk") return entry.kind;
  try {
    const st = lstatSync(absPath);
    return st.isDirectory() ? "directory" : st.isSocket() ? "socket" : "file";
  } catch {
    return "none";
  }
}

/** What a path lookup meets on the way to `absPath`'s last component: ENOENT, ENOTDIR or nothing. */
function lookupError(files: HostFiles, absPath: string): string | null {
  const parent = dirname(absPath);
  if (parent === absPath) return null;
  const above = lookupError(files, parent);
  if (above) return above;
  const kind = kindAt(files, parent);
  if (kind === "none") return "No such file or directory";
  if (kind === "file") return "Not a directory";
  return null;
}

/** Throws QmpFailure with QEMU's message where unlinking or binding `path` fails. */
export function unixListen(files: HostFiles, workdir: string, path: string, abstract: boolean): void {
  if (abstract) return;
  const absPath = resolve(workdir, path);
  const lookup = lookupError(files, absPath);
  // unlink: ENOENT is no error; bind then fails on the same missing directory.
  if (lookup === "Not a directory") fail(`Failed to unlink socket ${path}: ${lookup}`);
  if (lookup) fail(`Failed to bind socket to ${path}: ${lookup}`);
  const kind = kindAt(files, absPath);
  if (kind === "directory") fail(`Failed to unlink socket ${path}: Is a directory`);
  if (kind === "file") throw new ModelUnsupportedError("an NBD server socket over an existing file (QEMU unlinks it)");
}
