/**
 * Bundles the compiled CLI (dist/, from tsc) into dist/bundle/: `npm run build` runs it after tsc.
 *
 * Node loads an ES module graph one file at a time: `blockcheck run` of one file read some 300
 * compiled modules and, for QEMU, execa's 122 files, which took more CPU than running the scenario.
 * The bundle is a few files. Code splitting keeps what the CLI imports lazily (the qemu engine's
 * execa, the reporters, the command modules) out of the first chunk, so `--help` and a model run
 * still load only what they use. The model worker (runner/model-workers/worker.ts) is its own
 * entry: the runner starts it as `worker.js` beside the chunk that holds the runner.
 * tests/cli-bundle.test.ts bundles the sources the same way and runs the result.
 */
import { build } from "esbuild";
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Bundle the CLI entry `main` and the model worker entry `worker` (paths from the repository root) into `outdir`. */
export async function bundleCli(entries: { main: string; worker: string }, outdir: string): Promise<void> {
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
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await bundleCli({ main: "dist/cli/main.js", worker: "dist/runner/model-workers/worker.js" }, join(root, "dist/bundle"));
}
