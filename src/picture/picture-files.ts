/**
 * Where `show graph` pictures go and how they are written. `run --pictures` draws one SVG per
 * `show graph` step and writes it beside the scenario's golden, under the golden's stem:
 *
 *   golden/reopen/detach-backing.out        the transcript
 *   golden/reopen/detach-backing.1.svg      the first `show graph`
 *   golden/reopen/detach-backing.freed.svg  `show graph freed`
 *
 * An unnamed `show graph` is numbered by its place among the scenario's `show graph` steps (named
 * ones count too), so the number is the same on every engine and every run. The names cannot
 * collide: golden stems never hold a `.` (golden/paths.ts encodes it), picture names hold none and
 * start with a letter, so STEM.KEY.svg names one scenario instance and one picture of it.
 *
 * Pictures are not goldens: they are written, never compared (the `show graph` text in the golden
 * is what is checked, and Graphviz's SVG changes with its version). Each file is written atomically
 * as goldens are, and a scenario's pictures that its run no longer draws are removed.
 */
import { readdir } from "node:fs/promises";
import path from "node:path";
import { isErrnoException, FileSystemError } from "../file-errors.js";
import { commonGoldenPath, resolveGoldenPath, type GoldenName } from "../golden/paths.js";
import { removeIfExists, writeAtomic } from "../golden/store.js";

/** One picture a run drew: its key (`1`, `freed`) and its SVG document. */
export interface DrawnPicture {
  key: string;
  svg: string;
}

/** The picture's path relative to the golden root: the golden's stem, the key, `.svg`. */
export function picturePath(golden: GoldenName, key: string): string {
  return `${goldenBase(golden)}.${key}.svg`;
}

/**
 * Write `pictures` beside the golden of `golden` and remove the instance's older pictures that are
 * not among them. Returns the absolute paths written, in the order given.
 */
export async function writePictures(goldenRoot: string, golden: GoldenName, pictures: readonly DrawnPicture[]): Promise<string[]> {
  const written: string[] = [];
  for (const p of pictures) {
    const file = resolveGoldenPath(goldenRoot, picturePath(golden, p.key));
    await writeAtomic(file, p.svg);
    written.push(file);
  }
  await removeStalePictures(goldenRoot, golden, new Set(written));
  return written;
}

/** A failed run's pictures, into its kept scratch directory (`.pictures/KEY.svg`); returns that directory. */
export async function writeScratchPictures(scratchDir: string, pictures: readonly DrawnPicture[]): Promise<string> {
  const dir = path.join(scratchDir, ".pictures");
  for (const p of pictures) await writeAtomic(path.join(dir, `${p.key}.svg`), p.svg);
  return dir;
}

/** The instance's pictures in the golden root (`STEM.KEY.svg`, KEY without a dot) that are not in `keep`. */
async function removeStalePictures(goldenRoot: string, golden: GoldenName, keep: ReadonlySet<string>): Promise<void> {
  const base = resolveGoldenPath(goldenRoot, goldenBase(golden));
  const dir = path.dirname(base);
  const prefix = path.basename(base) + ".";
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw isErrnoException(e) ? new FileSystemError("read directory", dir, e) : e;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith(".svg")) continue;
    const key = name.slice(prefix.length, -".svg".length);
    // Another instance's pictures (`STEM.fmt=raw.1.svg`) have a `.` in what follows the stem.
    if (key === "" || key.includes(".")) continue;
    const file = path.join(dir, name);
    if (!keep.has(file)) await removeIfExists(file);
  }
}

/** The golden's path without `.out`: the stem, with parameter values when there are any. */
function goldenBase(golden: GoldenName): string {
  return commonGoldenPath(golden).slice(0, -".out".length);
}
