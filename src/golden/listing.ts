/**
 * Which files each golden directory holds, listed once per run. Every scenario's golden check asks
 * first for its engine-specific golden (`NAME.model.out`), which is nearly never there: a `stat` per
 * scenario was about 3% of a model run, one listing per directory is nothing. Only absence is
 * answered from the listing: a file it names is read, and a read that finds nothing still says so.
 * A run writes no engine-specific golden that was not there (it only rewrites one), so a listing
 * made during the run stays true for it.
 */
import { readdirSync } from "node:fs";
import path from "node:path";

export class GoldenListing {
  /** Directory → the names in it; undefined when it could not be listed (then nothing is known). */
  readonly #dirs = new Map<string, ReadonlySet<string> | undefined>();

  /** False when `file` is certainly not there; true when it may be. */
  mayHold(file: string): boolean {
    const dir = path.dirname(file);
    let names = this.#dirs.get(dir);
    if (!this.#dirs.has(dir)) this.#dirs.set(dir, (names = list(dir)));
    return names === undefined || names.has(path.basename(file));
  }
}

function list(dir: string): ReadonlySet<string> | undefined {
  try {
    return new Set(readdirSync(dir));
  } catch (e) {
    // No directory, no golden in it; any other failure is left to the read, which names it.
    return (e as NodeJS.ErrnoException).code === "ENOENT" ? new Set() : undefined;
  }
}
