/**
 * npm's `prepare`: build the tree (`npm run build`), which `npm ci` runs once the dependencies are in.
 *
 * `npx blockcheck` in a checkout runs the checkout's own bin, and npm 11 does that by installing
 * the checkout into its exec cache (libnpmexec's "self-execution of a local bin"), which runs
 * `prepare` again with npm_command=exec: a whole tsc and esbuild build, 20 of the 27 seconds of the
 * first `npx blockcheck run` after `npm ci`. That build is of the same sources `npm ci` just built,
 * and the cache links back to the checkout, so it is left out when the bundle is there.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Whether `prepare` builds: always, but for npm exec's install of a checkout already built. */
export function prepareBuilds(env: NodeJS.ProcessEnv, bundleExists: boolean): boolean {
  return !(env["npm_command"] === "exec" && bundleExists);
}

function main(): void {
  if (!prepareBuilds(process.env, existsSync(join(root, "dist/bundle/cli.cjs")))) return;
  // npm_execpath is the npm that runs this script; a plain `npm` when run by hand.
  const npm = process.env["npm_execpath"];
  const r = npm ? spawnSync(process.execPath, [npm, "run", "build"], { cwd: root, stdio: "inherit" }) : spawnSync("npm", ["run", "build"], { cwd: root, stdio: "inherit" });
  process.exitCode = r.status ?? 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
