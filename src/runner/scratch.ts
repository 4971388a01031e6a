/**
 * Private scratch directories ($TEST_DIR): one per run, mode 0700, under the system temp directory.
 * Removed when the run passes, kept (and printed) when it fails or with --keep-scratch.
 */
import { chmod, mkdtemp, realpath, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

export interface Scratch {
  /** The directory as created. */
  dir: string;
  /** The directory and its resolved path (they differ when the temp dir is a symlink). */
  aliases: string[];
}

/** Create a fresh private scratch directory. */
export async function createScratch(parent: string = os.tmpdir()): Promise<Scratch> {
  const dir = await mkdtemp(path.join(parent, "blockcheck-"));
  await chmod(dir, 0o700);
  const real = await realpath(dir);
  return { dir, aliases: [...new Set([dir, real])] };
}

/** Remove a scratch directory and everything in it. */
export async function removeScratch(s: Scratch): Promise<void> {
  await rm(s.dir, { recursive: true, force: true });
}
