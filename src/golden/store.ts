/**
 * Reading and writing golden files. A write goes to a temporary file beside the golden, is fsync'd,
 * renamed into place and the directory fsync'd, so a crash or power loss leaves the old golden or the
 * new one, never half of one. The temporary file is `.NAME.PID-RANDOM.tmp`: removed on every exit
 * path we see (error, signal), and one left by a run that was killed is swept by the next run, which
 * can tell from the pid that its writer is gone. File-system failures are FileSystemErrors naming
 * the file.
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, rename, rm } from "node:fs/promises";
import { lstatSync, readFileSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { FileSystemError, isErrnoException, onFile } from "../file-errors.js";
import { cleanupOnExit } from "../lifetime/exit-cleanup.js";
import { pidAlive } from "../lifetime/owner.js";

/**
 * File contents, or undefined when the file does not exist. Read synchronously: a golden is small,
 * and the promise API's FileHandle (open, stat, read, close as four thread-pool round trips) cost a
 * model run more than comparing the transcript.
 */
export async function readIfExists(file: string, usuallyThere = false): Promise<string | undefined> {
  try {
    // Most runs have no engine-specific golden: asked first, a stat that finds nothing costs a
    // tenth of a read that fails (which builds an exception). A file that is nearly always there
    // (a scenario's golden) is read at once: the stat would be one more system call per run.
    if (!usuallyThere && statSync(file, { throwIfNoEntry: false }) === undefined) return undefined;
    return readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw isErrnoException(e) ? new FileSystemError("read", file, e) : e;
  }
}

/** Write `text` to `file` atomically and durably. */
export async function writeAtomic(file: string, text: string): Promise<void> {
  const dir = path.dirname(file);
  await onFile("create directory", dir, () => mkdir(dir, { recursive: true }));
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}-${randomBytes(6).toString("hex")}.tmp`);
  const forget = cleanupOnExit(() => rmSync(tmp, { force: true }));
  try {
    await onFile("write", file, async () => {
      const handle = await open(tmp, "wx");
      try {
        await handle.writeFile(text);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, file);
    });
    await syncDirectory(dir);
  } finally {
    // Normally renamed away already; if it cannot be removed, the next run sweeps it.
    await rm(tmp, { force: true }).catch(() => undefined);
    forget();
  }
}

/** Remove a file if it is there. */
export async function removeIfExists(file: string): Promise<boolean> {
  try {
    // A passing run removes its golden's pending files, which are nearly never there: an lstat
    // that finds nothing costs about a microsecond, a removal that fails tens of them.
    if (lstatSync(file, { throwIfNoEntry: false }) === undefined) return false;
    await rm(file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw isErrnoException(e) ? new FileSystemError("remove", file, e) : e;
  }
}

/** `.NAME.PID-HEX.tmp` as written now; `.NAME.HEX.tmp` as written before the pid was recorded. */
const TEMP = /^\..+\.(?:(\d+)-)?[0-9a-f]{12}\.tmp$/;

/**
 * Remove temporary files under `dir` whose writer is gone (best effort: a directory we cannot read
 * or a file we cannot remove is left alone). Returns the files removed.
 */
export async function sweepStaleTemps(dir: string): Promise<string[]> {
  const removed: string[] = [];
  const visit = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) await visit(full);
      const m = e.isFile() ? TEMP.exec(e.name) : null;
      // Without a pid (older versions) the writer cannot be asked: such a file is always stale.
      if (m && (m[1] === undefined || !pidAlive(Number(m[1])))) {
        if (await rm(full).then(() => true, () => false)) removed.push(full);
      }
    }
  };
  await visit(dir);
  return removed.sort();
}

/** fsync a directory so a rename in it is on disk; file systems that cannot do it are let be. */
async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EINVAL" || code === "ENOTSUP" || code === "EISDIR" || code === "EBADF") return;
    throw isErrnoException(e) ? new FileSystemError("sync directory", dir, e) : e;
  } finally {
    await handle?.close();
  }
}
