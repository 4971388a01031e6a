/**
 * Removing files and directory trees. Node 20's `fs.promises.rm` walks a tree in JavaScript with an
 * lstat and a promise per entry: for the few files of a scratch directory that cost 4–8× the CPU of
 * the calls themselves, on the one thread that also drives every QEMU of the run. Synchronous calls
 * cost the least JavaScript but put the kernel's work on that thread too: unlinking a few megabytes
 * of freshly written image takes longer than the call. So the walk here is Node's callback API: one
 * thread-pool request per entry and nothing else (docs/performance.md has the figures). A missing
 * path is not an error: the goal is that it is gone.
 */
import { readdir, rmdir, unlink, unlinkSync } from "node:fs";
import { rm } from "node:fs/promises";
import path from "node:path";
import { isErrnoException } from "./file-errors.js";

const missing = (e: unknown) => isErrnoException(e) && e.code === "ENOENT";

/** Remove `file` (not a directory) if it exists. */
export function unlinkIfExists(file: string): void {
  try {
    unlinkSync(file);
  } catch (e) {
    if (!missing(e)) throw e;
  }
}

/** Remove `dir` and everything in it, if it exists; a file at `dir` is removed too. */
export function removeTree(dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    readdir(dir, { withFileTypes: true }, (error, entries) => {
      if (error && missing(error)) return resolve();
      if (error && isErrnoException(error) && error.code === "ENOTDIR") return unlinkQuiet(dir).then(resolve, reject);
      if (error) return reject(error);
      const removals = entries.map((e) => (e.isDirectory() ? removeTree(path.join(dir, e.name)) : unlinkQuiet(path.join(dir, e.name))));
      // Every removal settles before the directory goes or the first failure is reported.
      void Promise.allSettled(removals).then((settled) => {
        const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
        if (failed) return reject(failed.reason);
        rmdir(dir, (e) => {
          if (!e || missing(e)) return resolve();
          // Something was created in it meanwhile: Node's own walk, which retries, takes the rest.
          if (e.code === "ENOTEMPTY" || e.code === "EEXIST") return rm(dir, { recursive: true, force: true, maxRetries: 3 }).then(resolve, reject);
          reject(e);
        });
      });
    });
  });
}

function unlinkQuiet(file: string): Promise<void> {
  return new Promise((resolve, reject) => unlink(file, (e) => (!e || missing(e) ? resolve() : reject(e))));
}
