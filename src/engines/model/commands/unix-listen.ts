/**
 * `unix_listen_saddr` (util/qemu-sockets.c), as nbd-server-start opens a UNIX socket: the path is
 * unlinked first (a missing one is fine), then bound, which makes the socket file. What the model
 * follows is where either fails, and an old socket replaced by the new one; a path that holds
 * another file, which QEMU would delete, is left to QEMU.
 */
import { join } from "node:path";
import type { HostFiles } from "../data/host-file.js";
import { kindAt, walkToLast } from "../data/path-walk.js";
import { ModelUnsupportedError } from "../model-unsupported.js";
import { fail } from "../qmp-failure.js";

/** sizeof(struct sockaddr_un.sun_path) on Linux. */
const SUN_PATH_SIZE = 108;

/** Throws QmpFailure with QEMU's message where unlinking or binding `path` fails. */
export function unixListen(files: HostFiles, workdir: string, path: string, abstract: boolean): void {
  // Before anything touches the file system; an abstract name leaves room for its leading NUL.
  const length = Buffer.byteLength(path);
  if (length > SUN_PATH_SIZE || (abstract && length > SUN_PATH_SIZE - 1)) fail(`UNIX socket path '${path}' is too long`);
  if (abstract) return;
  // The kernel walks the path as written (`missing/..` is missing); unlink's ENOENT is no error,
  // and bind then fails on the same missing directory.
  const walk = walkToLast(files, workdir, path);
  if ("errno" in walk) {
    if (walk.errno === "ENOENT") fail(`Failed to bind socket to ${path}: No such file or directory`);
    fail(`Failed to unlink socket ${path}: ${walk.errno === "ENOTDIR" ? "Not a directory" : "File name too long"}`);
  }
  const kind = kindAt(files, join(walk.dir, walk.last));
  if (kind === "directory") fail(`Failed to unlink socket ${path}: Is a directory`);
  if (kind === "file") throw new ModelUnsupportedError("an NBD server socket over an existing file (QEMU unlinks it)");
}
