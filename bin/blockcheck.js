#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ and bundled into dist/bundle/ by `npm run build`
// (run by `npm ci` via `prepare`; scripts/bundle.ts says why it is bundled, and how). The help,
// the version and option errors need only the small main.js; every command goes through
// launch.js, which loads the whole CLI with V8's code cache (src/cli/launch.ts).
const argv = process.argv.slice(2);
const answersAlone = argv.length === 0 || argv[0].startsWith("-") || argv[0] === "help";
const entry = answersAlone ? (await import("../dist/bundle/main.js")).main : (await import("../dist/bundle/launch.js")).launch;

process.exitCode = await entry(argv, {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  cwd: process.cwd(),
});
