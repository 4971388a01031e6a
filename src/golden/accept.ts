/** `blockcheck accept`: promote `.out.bad` files to goldens (each by an atomic rename). */
import { readdir, rename } from "node:fs/promises";
import path from "node:path";
import { FileSystemError, isErrnoException, onFile } from "../file-errors.js";

/** Every `.out.bad` under `dir` (recursively), sorted; [] when `dir` does not exist. */
export async function findBadFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  await walk(dir, (f) => {
    if (f.endsWith(".out.bad")) out.push(f);
  });
  return out.sort();
}

/** Rename each `X.out.bad` to `X.out`; returns the goldens written. */
export async function acceptBadFiles(badFiles: readonly string[]): Promise<string[]> {
  const done: string[] = [];
  for (const bad of badFiles) {
    const golden = bad.slice(0, -".bad".length);
    await onFile(`rename ${bad} to`, golden, () => rename(bad, golden));
    done.push(golden);
  }
  return done;
}

/** Visit every file under `dir`. */
export async function walk(dir: string, visit: (file: string) => void): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    // No directory there (or a file where one would be): nothing to visit.
    if ((e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "ENOTDIR") return;
    throw isErrnoException(e) ? new FileSystemError("read directory", dir, e) : e;
  }
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) await walk(full, visit);
    else if (e.isFile()) visit(full);
  }
}
