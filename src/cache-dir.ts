/**
 * blockcheck's directory in the user's cache: $XDG_CACHE_HOME/blockcheck, else ~/.cache/blockcheck.
 * It holds what is slow to compute and safe to lose: QEMU's capabilities, V8's code cache of the
 * CLI, loaded scenarios.
 */
import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

type Env = Record<string, string | undefined>;

export function userCacheDir(env: Env = process.env): string {
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "blockcheck");
}

/** BLOCKCHECK_CACHE=off: no code cache and no cache of loaded scenarios (to rule them out). */
export function cachesOff(env: Env): boolean {
  return env.BLOCKCHECK_CACHE === "off";
}

/**
 * Write `file` of a cache atomically: a temporary file (unique per writer: test runners start
 * several in one process, on threads) renamed over it, its directory made first. Whether it was
 * written; a cache that cannot be written costs only itself, so the reason is dropped.
 */
export function writeCacheFile(file: string, data: string | Uint8Array): boolean {
  const tmp = `${file}.${process.pid}-${Math.random().toString(36).slice(2)}.tmp`;
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(tmp, data);
    renameSync(tmp, file);
    return true;
  } catch {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // Its temporary file may not be removable either: a path under a regular file is ENOTDIR for rm too.
    }
    return false;
  }
}

/**
 * Remove all but the `keep` newest (by mtime) of `paths`, files or directories; how many went.
 * A path another process removes meanwhile counts as the oldest and is no error.
 */
export function keepNewest(paths: readonly string[], keep: number): number {
  const doomed = paths
    .map((p) => ({ p, mtime: statSync(p, { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
    .sort((a, b) => b.mtime - a.mtime)
    .slice(Math.max(0, keep));
  for (const { p } of doomed) rmSync(p, { recursive: true, force: true });
  return doomed.length;
}
