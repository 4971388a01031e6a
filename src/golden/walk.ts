/** Visiting every file under a directory (goldens, pending files, scenarios). */
import { readdir } from "node:fs/promises";
import path from "node:path";
import { FileSystemError, isErrnoException } from "../file-errors.js";

/** Visit every file under `dir`; a directory that is not there has nothing to visit. */
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
