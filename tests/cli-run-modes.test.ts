/** `run --ci` and `run --reporter junit` without `--output`, in a throwaway project, as a user runs them. */
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { blockcheck } from "./support/cli.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "bc-modes-"));
  await mkdir(path.join(dir, "tests/scenarios"), { recursive: true });
  await writeFile(path.join(dir, "tests/scenarios/a.scn"), 'scenario "a"\nadd n0: null-co\nshow nodes\n');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A failed run keeps its scratch directory for inspection; the test has no use for it. */
async function removeKeptScratch(output: string): Promise<void> {
  for (const m of output.matchAll(/scratch directory kept: ([^\s<]+)/g)) await rm(m[1]!, { recursive: true, force: true });
}

/** Every file under the project, relative, sorted. */
async function files(): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
}

describe("run --ci", () => {
  it("is CI mode without CI set: a missing golden fails and nothing is written", async () => {
    const r = await blockcheck(["run", "--ci", "--update"], { cwd: dir });
    await removeKeptScratch(r.stdout);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL a \(model\)/m);
    expect(r.stderr).toContain("in CI mode (CI set, or --ci) --update writes nothing");
    expect(await files()).toEqual(["tests/scenarios/a.scn"]);
  });

  it("without it (and without CI) the same run writes the golden", async () => {
    expect((await blockcheck(["run", "--update"], { cwd: dir })).code).toBe(0);
    expect(await files()).toContain("golden/a.out");
  });
});

describe("run --reporter junit", () => {
  it("writes the XML to stdout when there is no --output, and nothing else there", async () => {
    const r = await blockcheck(["run", "--ci", "--reporter", "junit"], { cwd: dir });
    await removeKeptScratch(r.stdout);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="blockcheck" tests="1" failures="1"/);
    expect(r.stdout).toMatch(/<\/testsuites>\n$/);
  });
});
