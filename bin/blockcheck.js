#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ and bundled into dist/bundle/ by `npm run build`
// (run by `npm ci` via `prepare`; scripts/bundle.ts says why it is bundled, and how). The help,
// the version and option errors need only the small main.js; every command goes through
// launch.js, which loads the whole CLI with V8's code cache (src/cli/launch.ts).
// A reader that goes away (`| head -1`) ends blockcheck as SIGPIPE ends a C program, with status
// 141; process.exit runs the exit handlers that kill QEMU and remove scratch directories.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e) => {
    if (e.code === "EPIPE") process.exit(141);
    throw e;
  });
}
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
