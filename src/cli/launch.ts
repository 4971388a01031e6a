/**
 * What bin/blockcheck.js runs for a command. The CLI is bundled twice (scripts/bundle.ts):
 *
 * - main.js and its chunks, ES modules split so that `--help` and `--version` load only the small
 *   first chunk: Node starts in about 70 ms here, and a CLI should answer those in under 100. The
 *   bin runs main.js itself for those, without this module;
 * - cli.cjs, the whole CLI in one CommonJS file, compiled with V8's code cache (code-cache.ts),
 *   for every command that does work: a `run` of one file spent 50–60 ms compiling before this.
 *
 * Both hold the same code and never meet in one process. Without cli.cjs (a build before it), and
 * with BLOCKCHECK_CACHE=off, the command runs from main.js.
 */
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { cachesOff, userCacheDir } from "../cache-dir.js";
import { readBundleManifest } from "./bundle-manifest.js";
import type { CliIo } from "./command.js";
import { loadWithCodeCache, type CachedModule } from "./code-cache.js";

type Main = (argv: string[], io: CliIo) => Promise<number>;

/** Run the CLI from the bundle in `dir` (this module's own directory by default); the exit code. */
export async function launch(argv: string[], io: CliIo, dir = path.dirname(fileURLToPath(import.meta.url))): Promise<number> {
  const cached = cachesOff(io.env) ? undefined : loadCachedBundle(dir, argv, io.env);
  const main = cached
    ? (cached.exports as { main: Main }).main
    : ((await import(pathToFileURL(path.join(dir, "main.js")).href)) as { main: Main }).main;
  const code = await main(argv, io);
  cached?.save();
  return code;
}

/** The cached bundle, loaded; undefined when there is none (a build without it). */
function loadCachedBundle(dir: string, argv: readonly string[], env: CliIo["env"]): CachedModule | undefined {
  const manifest = readBundleManifest(dir);
  if (!manifest) return undefined;
  return loadWithCodeCache(path.join(dir, manifest.file), manifest.sha256.slice(0, 16), userCacheDir(env), useOf(argv));
}

/**
 * What this process will run, as the code cache tells its uses apart (code-cache.ts): the command,
 * and for `run` the engine it names. A misread argument costs one more write of the cache.
 */
export function useOf(argv: readonly string[]): string {
  const [command = "", ...rest] = argv;
  if (command !== "run") return command;
  let engine = "model";
  rest.forEach((arg, i) => {
    if (arg === "--engine" || arg === "-e") engine = rest[i + 1] ?? engine;
    else if (arg.startsWith("--engine=")) engine = arg.slice("--engine=".length);
    else if (/^-e./.test(arg)) engine = arg.slice(2);
  });
  return `run ${engine}`;
}
