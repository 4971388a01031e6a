/**
 * Scratch directories for a fuzz run: one private directory made by the runner's scratch code (so
 * it is removed on every way out, and swept if the run is killed), and inside it one directory per
 * scenario run, emptied synchronously after the run and used again by a later one. A fuzz run uses
 * thousands of them; the runner's asynchronous set-up (owner file, realpath, recursive rm through
 * the thread pool) would cost more than running a scenario on the model, and removing a directory
 * is slow on some file systems (ext4 mounted with `discard`: 2 ms each).
 */
import { mkdirSync, readdirSync, rmSync, unlinkSync } from "node:fs";
import path from "node:path";
import { onFileSync } from "../file-errors.js";
import { createScratch, removeScratch, type Scratch } from "../runner/scratch.js";

export class FuzzScratch {
  #next = 0;
  /** Emptied directories, ready for another run. */
  readonly #free: Scratch[] = [];

  private constructor(private readonly root: Scratch) {}

  static async create(parent?: string): Promise<FuzzScratch> {
    return new FuzzScratch(await createScratch(parent));
  }

  /** An empty directory for one run. */
  make(): Scratch {
    const reused = this.#free.pop();
    if (reused) return reused;
    const name = `run-${this.#next++}`;
    const dir = path.join(this.root.dir, name);
    onFileSync("create directory", dir, () => mkdirSync(dir, { mode: 0o700 }));
    return { dir, aliases: this.root.aliases.map((a) => path.join(a, name)) };
  }

  /**
   * Give back a directory from make(), emptied. One that something else removed (a user's cleanup
   * of the temp directory) is a file-system error naming it, not a crash of the fuzzer.
   */
  drop(s: Scratch): void {
    onFileSync("empty scratch directory", s.dir, () => {
      for (const e of readdirSync(s.dir, { withFileTypes: true })) {
        const p = path.join(s.dir, e.name);
        if (e.isDirectory()) rmSync(p, { recursive: true, force: true });
        else unlinkSync(p);
      }
    });
    this.#free.push(s);
  }

  /** Remove everything. */
  async close(): Promise<void> {
    await removeScratch(this.root);
  }
}
