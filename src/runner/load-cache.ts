/**
 * Loaded scenarios kept across runs, in the user's cache directory. A run loads every selected file
 * before the first scenario starts, and loading is parsing and validating with code that has not
 * warmed up yet: 2 ms a file at the start of a run, some 50 ms before the 245 corpus could start.
 * Read back from here a file costs a read, an inflate and a V8 deserialize.
 *
 * An entry is keyed by everything the loaded value depends on: the build (the bundle's hash, so
 * that new code never reads old results), the V8 version (the serialization format), the file's
 * name as shown and as named, and its bytes. Only files that load go in; a file with errors is
 * loaded again each time, so that its diagnostics are always today's. Entries are V8-serialized
 * (exact for what the AST holds: -0, Infinity and NaN included, which JSON would change),
 * deflated, and written atomically. Every failure to read one is a miss; every failure to write
 * costs only the entry.
 *
 * The directory holds at most MAX_ENTRIES entries of a build: past that, the oldest quarter goes.
 * A run that loads more files than that does not write, since the cache cannot hold it. The
 * directories of all but the newest few builds are removed when a new build first writes.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import v8 from "node:v8";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { keepNewest, writeCacheFile } from "../cache-dir.js";
import type { ScenarioInstance } from "./instance.js";

/** Where the cache is and which build reads it: plain data, so that model workers get it too. */
export interface LoadCacheConfig {
  /** The cache's directory; each build has a subdirectory. */
  dir: string;
  /** Identifies the code that loads (bundle-manifest.ts). */
  buildId: string;
  /** How many files the run loads in all (over every worker). */
  files: number;
  /** At most this many entries per build (default MAX_ENTRIES; tests make it small). */
  maxEntries?: number;
}

export const MAX_ENTRIES = 4096;
const KEEP_BUILDS = 3;
/** Changes when what an entry holds does. */
const FORMAT = "blockcheck loaded scenario 1";

export class LoadCache {
  readonly #dir: string;
  readonly #parent: string;
  #writable: boolean;
  readonly #max: number;
  /** Entries in the directory, counted at the first write of this run. */
  #count: number | undefined;
  /**
   * The keys the directory held when the run first asked, listed once: a read that fails costs an
   * exception, and a corpus past MAX_ENTRIES (whose files the cache holds few or none of) made one
   * per file.
   */
  #present: Set<string> | undefined;

  constructor(config: LoadCacheConfig) {
    this.#parent = config.dir;
    this.#dir = path.join(config.dir, config.buildId.slice(0, 16));
    this.#max = config.maxEntries ?? MAX_ENTRIES;
    this.#writable = config.files <= this.#max;
  }

  /** The key of a file's load; undefined when the cache can neither hold it nor have it. */
  key(shown: string, name: string, bytes: Uint8Array): string | undefined {
    if (!this.#writable && this.#listed().size === 0) return undefined;
    return createHash("sha256").update(`${FORMAT}\0${process.versions.v8}\0${shown}\0${name}\0`).update(bytes).digest("hex");
  }

  /** What the file loaded to, if the cache holds it. */
  get(key: string): ScenarioInstance[] | undefined {
    if (!this.#listed().has(key)) return undefined;
    try {
      const value = v8.deserialize(inflateRawSync(readFileSync(path.join(this.#dir, key)))) as unknown;
      return Array.isArray(value) ? (value as ScenarioInstance[]) : undefined;
    } catch {
      return undefined;
    }
  }

  put(key: string, instances: readonly ScenarioInstance[]): void {
    if (!this.#writable) return;
    try {
      this.#count ??= this.#prepare();
      if (this.#count >= this.#max) this.#count -= this.#evictOldest(Math.ceil(this.#max / 4));
      if (writeCacheFile(path.join(this.#dir, key), deflateRawSync(v8.serialize(instances), { level: 1 }))) {
        this.#count++;
        this.#listed().add(key);
      }
    } catch {
      // The directory cannot be made or read: nothing more is kept this run.
      this.#writable = false;
    }
  }

  #listed(): Set<string> {
    if (this.#present) return this.#present;
    try {
      this.#present = new Set(readdirSync(this.#dir));
    } catch {
      this.#present = new Set();
    }
    return this.#present;
  }

  /** Make this build's directory, drop old builds' directories; the entries already there. */
  #prepare(): number {
    mkdirSync(this.#dir, { recursive: true });
    const others = readdirSync(this.#parent)
      .map((name) => path.join(this.#parent, name))
      .filter((d) => d !== this.#dir);
    keepNewest(others, KEEP_BUILDS - 1);
    return readdirSync(this.#dir).length;
  }

  /** Remove the `n` entries written longest ago; how many went. */
  #evictOldest(n: number): number {
    const entries = readdirSync(this.#dir).map((name) => path.join(this.#dir, name));
    return keepNewest(entries, entries.length - n);
  }
}
