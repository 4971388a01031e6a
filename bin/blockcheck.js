#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ and bundled into dist/bundle/ by `npm run build`
// (run by `npm ci` via `prepare`; scripts/bundle.ts says why it is bundled, and how).
import { launch } from "../dist/bundle/launch.js";

process.exitCode = await launch(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  cwd: process.cwd(),
});
