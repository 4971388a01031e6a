/**
 * V8's code cache for the CLI bundle. Each start of the CLI compiled the same few megabytes of
 * JavaScript again: the top level of every module, then each function on its first call. V8 can
 * save what it compiled and take it back on the next start; Node 22 does that with
 * `module.enableCompileCache()`, Node 20 only for a script compiled through `vm.Script` with
 * `cachedData`, which this module does (as the v8-compile-cache package does for CommonJS).
 *
 * The cache is a file per bundle (its content hash), Node version and architecture, in the user's
 * cache directory. V8 itself refuses data from another V8 or other flags, but it checks the source
 * only by its length: the bundle's hash in the file name is what ties the data to the code. The
 * file starts with the SHA-256 of the data, since V8 release builds do not check a checksum; a file
 * that fails it is ignored and written again. Writing is atomic, and failing to write costs only
 * the cache. The script cannot use import(): a function compiled from the cache loses the host
 * options that dynamic import needs (scripts/bundle.ts keeps import() out of the bundle).
 *
 * V8 compiles a function when it first runs, so the cache holds what the process that wrote it
 * ran: written by a `check`, it would lack the runner and the engines for every `run` after. The
 * file therefore names the uses it has seen (the command, and the engines of a run), and a process
 * of a use it has not seen writes it again, with what the cache gave it plus what it compiled.
 */
import { isAscii } from "node:buffer";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import vm from "node:vm";
import { keepNewest, writeCacheFile } from "../cache-dir.js";

/** What became of the cache: used, missing, or refused (by V8, or a checksum that does not match). */
export type CodeCacheState = "accepted" | "absent" | "rejected";

export interface CachedModule {
  /** `module.exports` of the script. */
  exports: unknown;
  state: CodeCacheState;
  /**
   * Write the cache, with every function compiled so far, unless it was used and has seen this
   * process's use already; errors are ignored.
   */
  save(): void;
}

/** How many cache files (builds × Node versions) the directory keeps; the oldest go first. */
const KEEP = 4;
const DIGEST = 32;
const MAX_USES = 16;
/** CommonJS's module wrapper, as Node's own loader adds it. */
const WRAP_HEAD = "(function (exports, require, module, __filename, __dirname) { ";
const WRAP_TAIL = "\n});";

/** The cache file of the bundle whose content hash is `id`, in `dir`. */
export function codeCacheFile(dir: string, id: string): string {
  return path.join(dir, `cli-${id}-${process.version}-${process.arch}.v8`);
}

/**
 * Load the CommonJS `file` as Node would, compiled with the cache from `cacheDir` (none when
 * undefined). `id` must change whenever the file's content does; `use` names what this process
 * will run (launch.ts: the command, and the engines of a run).
 */
export function loadWithCodeCache(file: string, id: string, cacheDir: string | undefined, use = ""): CachedModule {
  const bytes = readFileSync(file);
  // ASCII (scripts/bundle.ts makes the bundle so) decodes as Latin-1, several times faster than UTF-8.
  const source = isAscii(bytes) ? bytes.toString("latin1") : bytes.toString("utf8");
  const cacheFile = cacheDir === undefined ? undefined : codeCacheFile(cacheDir, id);
  const cached = cacheFile === undefined ? undefined : readVerified(cacheFile);
  const script = new vm.Script(WRAP_HEAD + source + WRAP_TAIL, {
    filename: file,
    ...(cached ? { cachedData: cached.data } : {}),
  });
  const state: CodeCacheState = cached === undefined ? (cacheFile && existsQuiet(cacheFile) ? "rejected" : "absent") : script.cachedDataRejected ? "rejected" : "accepted";
  const module = { exports: {} as unknown };
  const wrapper = script.runInThisContext() as (e: unknown, r: NodeRequire, m: { exports: unknown }, f: string, d: string) => void;
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, path.dirname(file));
  return {
    get exports() {
      return module.exports;
    },
    state,
    save() {
      if (cacheFile === undefined) return;
      const seen = state === "accepted" ? cached!.uses : [];
      if (state === "accepted" && seen.includes(use)) return;
      // Mistyped commands are uses too: past MAX_USES the list starts again.
      writeCache(cacheFile, seen.length < MAX_USES ? [...seen, use].sort() : [use], script.createCachedData());
    },
  };
}

/**
 * The cache file: the SHA-256 of the rest; the length of the uses line (4 bytes, big-endian); the
 * uses it has seen, as JSON; V8's data.
 */
interface CacheFile {
  uses: string[];
  data: Buffer;
}

/** The cache file's content, if it is there and its checksum holds. */
function readVerified(file: string): CacheFile | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return undefined;
  }
  if (bytes.length < DIGEST + 4) return undefined;
  const rest = bytes.subarray(DIGEST);
  if (!createHash("sha256").update(rest).digest().equals(bytes.subarray(0, DIGEST))) return undefined;
  const usesEnd = 4 + rest.readUInt32BE(0);
  try {
    const uses = JSON.parse(rest.subarray(4, usesEnd).toString("utf8")) as unknown;
    if (!Array.isArray(uses) || !uses.every((u) => typeof u === "string")) return undefined;
    return { uses, data: rest.subarray(usesEnd) };
  } catch {
    return undefined;
  }
}

function existsQuiet(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function writeCache(file: string, uses: string[], data: Buffer): void {
  const usesLine = Buffer.from(JSON.stringify(uses));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(usesLine.length);
  const rest = Buffer.concat([length, usesLine, data]);
  if (!writeCacheFile(file, Buffer.concat([createHash("sha256").update(rest).digest(), rest]))) return;
  try {
    pruneOld(path.dirname(file), file);
  } catch {
    // Another process pruned at the same time: what is left is pruned next time.
  }
}

/** Keep the KEEP newest cache files of the directory (`kept` among them). */
function pruneOld(dir: string, kept: string): void {
  const others = readdirSync(dir)
    .filter((n) => /^cli-.*\.v8$/.test(n))
    .map((n) => path.join(dir, n))
    .filter((f) => f !== kept);
  keepNewest(others, KEEP - 1);
}
