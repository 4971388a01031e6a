/**
 * How the kernel looks a path up: component by component as written, so `missing/..` is missing
 * and `file/x` is not a directory, where a normalized path (path.resolve) would name something
 * else. What is at each step is the model's files and directories first, then the disk.
 */
import { lstatSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import type { HostFiles } from "./host-file.js";

export type PathKind = "file" | "directory" | "socket";
export type WalkErrno = "ENOENT" | "ENOTDIR" | "ENAMETOOLONG";

/** NAME_MAX: the longest component a Linux file system takes. */
const NAME_MAX = 255;

/** What is at an absolute path, or undefined when nothing is. */
export function kindAt(files: HostFiles, absPath: string): PathKind | undefined {
  const entry = files.entry(absPath);
  if (entry.kind !== "disk") return entry.kind;
  try {
    const st = lstatSync(absPath);
    return st.isDirectory() ? "directory" : st.isSocket() ? "socket" : "file";
  } catch {
    return undefined;
  }
}

/**
 * The directories on the way to `path`'s last component (relative to `cwd`), walked as the
 * kernel walks them: the errno that stops the walk (ENOENT, ENOTDIR, ENAMETOOLONG for a component
 * past NAME_MAX), or where it ends and the last component as written.
 */
export function walkToLast(files: HostFiles, cwd: string, path: string): { errno: WalkErrno } | { dir: string; last: string } {
  const parts = path.split("/");
  const last = parts.pop()!;
  let dir = isAbsolute(path) ? "/" : cwd;
  for (const part of parts) {
    if (part === "" || part === ".") continue;
    if (Buffer.byteLength(part) > NAME_MAX) return { errno: "ENAMETOOLONG" };
    if (part === "..") {
      dir = join(dir, "..");
      continue;
    }
    dir = join(dir, part);
    const kind = kindAt(files, dir);
    if (kind === undefined) return { errno: "ENOENT" };
    if (kind !== "directory") return { errno: "ENOTDIR" };
  }
  if (Buffer.byteLength(last) > NAME_MAX) return { errno: "ENAMETOOLONG" };
  return { dir, last };
}

/** What is at `path` as the kernel finds it: a kind, "missing", or the walk's errno. */
export function lookupPath(files: HostFiles, cwd: string, path: string): PathKind | WalkErrno {
  const walk = walkToLast(files, cwd, path);
  if ("errno" in walk) return walk.errno;
  return kindAt(files, join(walk.dir, walk.last)) ?? "ENOENT";
}
