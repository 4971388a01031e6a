/**
 * Private scratch directories ($TEST_DIR): one per run, mode 0700, under the system temp directory.
 * Removed when the run passes, kept (and printed) when it fails or with --keep-scratch.
 *
 * Nothing else is left behind. While a directory is in use it holds an owner file (our pid and start
 * time) and is removed if the process ends on a signal or process.exit(); a directory that is to be
 * kept loses its owner file and becomes the user's. A run that died without cleaning up (SIGKILL,
 * the OOM killer) leaves directories whose owner is gone: the next run sweeps them.
 */
import { readdir, readFile, rm } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, realpathSync, rmdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { FileSystemError, isErrnoException } from "../file-errors.js";
import { removeTree } from "../remove-tree.js";
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
  /**
   * Named but not made yet (planScratch): a model run needs no directory on disk unless it is kept.
   * materializeScratch makes it.
   */
  planned?: boolean;
}

export interface ScratchOptions {
  /** Keep the directory whatever happens (--keep-scratch): it is the user's from the start. */
  keep?: boolean;
}

/** Removal on exit, for directories still in use. */
const forgetOnExit = new Map<string, () => void>();

/**
 * Per-run work that does not depend on the scenario is done once: this process's owner stamp (a
 * read of /proc) and each parent's resolved path (the directory's own is that plus its name).
 * The per-scenario calls are synchronous: each is one short system call, where the promise API
 * costs a thread-pool round trip and an event-loop turn apiece, which on the model is most of a
 * small scenario's file-system time.
 */
let stamp: string | undefined;
const realParents = new Map<string, string>();

function realParent(parent: string): string {
  let real = realParents.get(parent);
  if (real === undefined) {
    real = realpathSync.native(parent);
    realParents.set(parent, real);
  }
  return real;
}

/** Create a fresh private scratch directory. */
export async function createScratch(parent: string = os.tmpdir(), opts: ScratchOptions = {}): Promise<Scratch> {
  let dir: string;
  try {
    dir = mkdtempSync(path.join(parent, PREFIX));
  } catch (e) {
    throw isErrnoException(e) ? new FileSystemError("create a scratch directory in", parent, e) : e;
  }
  try {
    // mkdtemp makes the directory 0700 whatever the umask: private already, no chmod needed.
    if (!opts.keep) {
      forgetOnExit.set(dir, cleanupOnExit(() => rmSync(dir, { recursive: true, force: true })));
      writeFileSync(path.join(dir, OWNER_FILE), (stamp ??= ownerStamp()) + "\n");
    }
    const real = path.join(realParent(parent), path.basename(dir));
    return { dir, aliases: [...new Set([dir, real])] };
  } catch (e) {
    await removeScratch({ dir, aliases: [dir] }).catch(() => undefined);
    throw isErrnoException(e) ? new FileSystemError("set up scratch directory", dir, e) : e;
  }
}

/**
 * Planned names: this process's pid and a counter make them unique here, random bits drawn once
 * per process elsewhere (a pid can recur in another pid namespace sharing the temp directory).
 */
let planCount = 0;
let planNonce: string | undefined;

/**
 * A scratch directory's name, without the directory: for a model run, whose files live in the
 * engine's memory, the directory is made only when something must be on disk (materializeScratch:
 * a failed run whose directory is kept). Nothing is created, so nothing is to remove.
 */
export function planScratch(parent: string = os.tmpdir()): Scratch {
  verifyParent(parent);
  planNonce ??= randomBytes(4).toString("hex");
  const name = `${PREFIX}${process.pid.toString(36)}${planNonce}${(planCount++).toString(36)}`;
  const dir = path.join(parent, name);
  let real: string;
  try {
    real = path.join(realParent(parent), name);
  } catch (e) {
    throw isErrnoException(e) ? new FileSystemError("create a scratch directory in", parent, e) : e;
  }
  return { dir, aliases: [...new Set([dir, real])], planned: true };
}

/** Parents a directory was made and removed in: they can take scratch directories. */
const verifiedParents = new Set<string>();

/**
 * Once per parent, make a directory there and remove it: a parent that cannot take one fails the
 * run at its first scenario, with the error createScratch gives, and not only when a run is kept.
 */
function verifyParent(parent: string): void {
  if (verifiedParents.has(parent)) return;
  let dir: string;
  try {
    dir = mkdtempSync(path.join(parent, PREFIX));
  } catch (e) {
    throw isErrnoException(e) ? new FileSystemError("create a scratch directory in", parent, e) : e;
  }
  rmdirSync(dir);
  verifiedParents.add(parent);
}

/** Make a planned scratch directory (mode 0700, as mkdtemp would); nothing to do for one that exists. */
export function materializeScratch(s: Scratch): void {
  if (!s.planned) return;
  try {
    mkdirSync(s.dir, { mode: 0o700 });
  } catch (e) {
    throw isErrnoException(e) ? new FileSystemError("create scratch directory", s.dir, e) : e;
  }
  s.planned = false;
}

/** Remove a scratch directory and everything in it. */
export async function removeScratch(s: Scratch): Promise<void> {
  if (s.planned) return;
  try {
    // Asynchronous, unlike the creation: unlinking images is kernel work the run's thread need not
    // wait for (run-all.ts defers the removals), and remove-tree.ts walks with little JavaScript.
    await removeTree(s.dir);
  } catch (e) {
    throw isErrnoException(e) ? new FileSystemError("remove scratch directory", s.dir, e) : e;
  } finally {
    release(s.dir);
  }
}

/** Hand a scratch directory to the user: it is never removed, by this run or a later one. */
export async function keepScratch(s: Scratch): Promise<void> {
  materializeScratch(s);
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
  // Every failing scenario keeps its directory (without an owner file), so thousands can pile up
  // in a day: a stat that finds no owner file costs a microsecond, a read that fails far more.
  const owned = entries.filter((e) => e.isDirectory() && e.name.startsWith(PREFIX) && statSync(path.join(parent, e.name, OWNER_FILE), { throwIfNoEntry: false }));
  for (const e of owned) {
    const dir = path.join(parent, e.name);
    const stamp = await readFile(path.join(dir, OWNER_FILE), "utf8").catch(() => undefined);
    if (stamp === undefined || ownerAlive(stamp.trim())) continue;
    if (await rm(dir, { recursive: true, force: true }).then(() => true, () => false)) removed.push(dir);
  }
  return removed.sort();
}
