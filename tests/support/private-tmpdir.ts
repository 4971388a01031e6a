/**
 * vitest globalSetup: the suite's temporary files go to a directory of its own, removed when the
 * suite ends. Many tests run scenarios that fail on purpose, and a failed run keeps its scratch
 * directory for the user to look into (src/runner/scratch.ts); under the system temp directory those
 * would pile up with every run of the suite, and every later `blockcheck run` looks at each of them
 * (sweepStaleScratch). The workers inherit TMPDIR from this process.
 *
 * BLOCKCHECK_TEST_KEEP_TMP=1 keeps the directory, and names it, for a look at what a test left.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export default function setup(): () => void {
  const saved = process.env["TMPDIR"];
  // Not "blockcheck-": that prefix is what sweepStaleScratch looks at.
  const dir = mkdtempSync(path.join(os.tmpdir(), "bc-suite-"));
  process.env["TMPDIR"] = dir;
  return () => {
    if (saved === undefined) delete process.env["TMPDIR"];
    else process.env["TMPDIR"] = saved;
    if (process.env["BLOCKCHECK_TEST_KEEP_TMP"]) {
      process.stderr.write(`the suite's temporary files are kept in ${dir}\n`);
      return;
    }
    rmSync(dir, { recursive: true, force: true });
  };
}
