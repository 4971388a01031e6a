/**
 * Private scratch directories ($TEST_DIR): one per run, mode 0700, under the system temp directory.
 * Removed when the run passes, kept (and printed) when it fails or with --keep-scratch.
 *
 * Nothing else is left behind. While a directory is in use it holds an owner file (our pid and start
 * time) and is removed if the process ends on a signal or process.exit(); a directory that is to be
 * kept loses its owner file and becomes the user's. A run that died without cleaning up (SIGKILL,
 * the OOM killer) leaves directories whose owner is gone: the next run sweeps them.
 */
import { chmod, mkdtemp, readdir, readFile, realpath, rm, writeFile } from "node:fs/promises";
import { rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { FileSystemError, isErrnoException } from "../file-errors.js";
import { cleanupOnExit } from "../lifetime/exit-cleanup.js";
import { ownerAlive, ownerStamp } from "../lifetime/owner.js";

const PREFIX = "blockcheck-";
/** Marks a directory in use by a live run; removed when the directory is handed to the user. */
const OWNER_FILE = ".blockcheck-owner";

export interface Scratch {
  /** The directory as created. */
  dir: string;
  /** The directory and its resolved path (they differ when the temp dir is a symlink). */
  aliases: string[];
}

export interface ScratchOptions {
  /** Keep the directory whatever happens (--keep-scratch): it is the user's from the start. */
  keep?: boolean;
}

/** Removal on exit, for directories still in use. */
const forgetOnExit = new Map<string, () => void>();

/** Create a fresh private scratch directory. */
export async function createScratch(parent: string = os.tmpdir(), opts: ScratchOptions = {}): Promise<Scratch> {
  let dir: string;
  try {
    dir = await mkdtemp(path.join(parent, PREFIX));
  } catch (e) {
    throw isErrnoException(e) ? new FileSystemError("create a scratch directory in", parent, e) : e;
  }
  try {
    await chmod(dir, 0o700);
    if (!opts.keep) {
      forgetOnExit.set(dir, cleanupOnExit(() => rmSync(dir, { recursive: true, force: true })));
      await writeFile(path.join(dir, OWNER_FILE), ownerStamp() + "\n");
    }
    const real = await realpath(dir);
    return { dir, aliases: [...new Set([dir, real])] };
  } catch (e) {
    await removeScratch({ dir, aliases: [dir] }).catch(() => undefined);
    throw isErrnoException(e) ? new FileSystemError("set up scratch directory", dir, e) : e;
  }
}

/** Remove a scratch directory and everything in it. */
export async function removeScratch(s: Scratch): Promise<void> {
  try {
    await rm(s.dir, { recursive: true, force: true });
  } catch (e) {
    throw isErrnoException(e) ? new FileSystemError("remove scratch directory", s.dir, e) : e;
  } finally {
    release(s.dir);
  }
}

/** Hand a scratch directory to the user: it is never removed, by this run or a later one. */
export async function keepScratch(s: Scratch): Promise<void> {
  release(s.dir);
  await rm(path.join(s.dir, OWNER_FILE), { force: true }).catch(() => undefined);
}

/** Remove it (`keep` false) or hand it to the user (`keep` true). */
export function settleScratch(s: Scratch, keep: boolean): Promise<void> {
  return keep ? keepScratch(s) : removeScratch(s);
}

function release(dir: string): void {
  forgetOnExit.get(dir)?.();
  forgetOnExit.delete(dir);
}

/**
 * Remove the scratch directories under `parent` whose owning run is gone (best effort: whatever
 * cannot be read or removed is left). Returns the directories removed.
 */
export async function sweepStaleScratch(parent: string = os.tmpdir()): Promise<string[]> {
  const entries = await readdir(parent, { withFileTypes: true }).catch(() => []);
  const removed: string[] = [];
  for (const e of entries) {
    if (!e.isDirectory() || !e.name.startsWith(PREFIX)) continue;
    const dir = path.join(parent, e.name);
    const stamp = await readFile(path.join(dir, OWNER_FILE), "utf8").catch(() => undefined);
    if (stamp === undefined || ownerAlive(stamp.trim())) continue;
    if (await rm(dir, { recursive: true, force: true }).then(() => true, () => false)) removed.push(dir);
  }
  return removed.sort();
}
