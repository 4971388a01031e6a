/**
 * Bundles the compiled CLI (dist/, from tsc) into dist/bundle/: `npm run build` runs it after tsc.
 *
 * Node loads an ES module graph one file at a time: `blockcheck run` of one file read some 300
 * compiled modules and, for QEMU, execa's 122 files, which took more CPU than running the scenario.
 * The bundle is a few files. Code splitting keeps what the CLI imports lazily (the qemu engine's
 * execa, the reporters, the command modules) out of the first chunk, so `--help` and a model run
 * still load only what they use. The model worker (runner/model-workers/worker.ts) is its own
 * entry: the runner starts it as `worker.js` beside the chunk that holds the runner.
 * The launcher (src/cli/launch.ts, bin/blockcheck.js's entry) is a third entry.
 *
 * The CLI is also bundled whole into one CommonJS file, cli.cjs, which the launcher compiles with
 * V8's code cache for every command but the help and version (launch.ts says why); cli.json beside
 * it holds its content hash, which keys the cache.
 * tests/cli-bundle.test.ts bundles the sources the same way and runs the result.
 */
import { build, transform } from "esbuild";
import { createHash } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BUNDLE_MANIFEST, type BundleManifest } from "../src/cli/bundle-manifest.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Bundle the CLI entry `main`, the model worker entry `worker` and the launcher `launch` (paths from
 * the repository root) into `outdir`, and `main` once more as cli.cjs.
 */
export async function bundleCli(entries: { main: string; worker: string; launch: string }, outdir: string): Promise<void> {
  // Chunk names are content hashes: without this, every build would leave the last one's chunks.
  rmSync(outdir, { recursive: true, force: true });
  await build({
    absWorkingDir: root,
    entryPoints: entries,
    outdir,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    chunkNames: "chunk-[hash]",
    // Dependencies' ES module builds (jsonc-parser's UMD build requires its own files at run time).
    mainFields: ["module", "main"],
    // CommonJS dependencies bundled into ES modules still call require() for Node's built-ins.
    banner: { js: 'import { createRequire as __blockcheckRequire } from "node:module"; const require = __blockcheckRequire(import.meta.url);' },
    logLevel: "warning",
  });
  const cjs = join(outdir, "cli.cjs");
  const cjsBuild = await build({
    absWorkingDir: root,
    entryPoints: [entries.main],
    outfile: cjs,
    bundle: true,
    format: "cjs",
    platform: "node",
    target: "node20",
    mainFields: ["module", "main"],
    // The modules that find files beside themselves (the model worker, package.json, cli.json) read
    // import.meta.url; in CommonJS it is the bundle's own file, as in the ES module chunks.
    define: { "import.meta.url": "__blockcheckModuleUrl" },
    banner: { js: 'var __blockcheckModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
    logLevel: "warning",
    metafile: true,
  });
  // A script compiled from V8's code cache has no dynamic import (Node 20 drops its host options):
  // an import() left in the bundle would fail at run time, so it fails the build. What the bundle
  // loads lazily from outside it (Graphviz) goes through require.
  const imports = Object.values(cjsBuild.metafile.outputs).flatMap((o) => o.imports);
  const dynamic = imports.filter((i) => i.kind === "dynamic-import").map((i) => i.path);
  if (dynamic.length > 0) throw new Error(`cli.cjs would import() at run time: ${dynamic.join(", ")}`);
  await asciiOnly(cjs);
  const sha256 = createHash("sha256").update(readFileSync(cjs)).digest("hex");
  writeFileSync(join(outdir, BUNDLE_MANIFEST), JSON.stringify({ file: "cli.cjs", sha256 } satisfies BundleManifest) + "\n");
}

/**
 * Make `file` ASCII. esbuild escapes non-ASCII characters in code but keeps them in comments, and
 * an ASCII file is read as a one-byte string, about 5 ms sooner than UTF-8 for cli.cjs (code-cache.ts).
 * The comments' characters become "?"; minifying both texts to the same code proves that nothing
 * but comments changed.
 */
async function asciiOnly(file: string): Promise<void> {
  const text = readFileSync(file, "utf8");
  const ascii = text.replace(/[^\x00-\x7f]/g, "?");
  if (ascii === text) return;
  const code = async (js: string) => (await transform(js, { loader: "js", minifyWhitespace: true, legalComments: "none" })).code;
  if ((await code(ascii)) !== (await code(text))) throw new Error(`${file}: non-ASCII characters outside comments`);
  writeFileSync(file, ascii);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await bundleCli({ main: "dist/cli/main.js", worker: "dist/runner/model-workers/worker.js", launch: "dist/cli/launch.js" }, join(root, "dist/bundle"));
}
