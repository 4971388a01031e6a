/** PATH globs over scenario names, as `blockcheck run --list` shows what they select. */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blockcheck } from "./support/cli.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "bc-globs-"));
  for (const name of ["detach", "xdetach", "reopen/cycles", "reopen/filters", "reopen/detach-backing", "reopen/deep/detach"]) {
    await mkdir(path.dirname(path.join(dir, "tests/scenarios", name)), { recursive: true });
    await writeFile(path.join(dir, "tests/scenarios", `${name}.scn`), `scenario "${name}"\nadd n0: null-co\n`);
  }
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const list = async (glob: string) => {
  const r = await blockcheck(["run", "--list", glob], { cwd: dir });
  expect(r.stderr).toBe("");
  return r.stdout.trim().split("\n");
};

describe("scenario globs", () => {
  it("take braces and character classes", async () => {
    expect(await list("reopen/{cycles,filters}")).toEqual(["reopen/cycles", "reopen/filters"]);
    expect(await list("reopen/[cf]*")).toEqual(["reopen/cycles", "reopen/filters"]);
  });

  it("`*` stays in one segment, `**/` spans any number of them, none included", async () => {
    expect(await list("reopen/*")).toEqual(["reopen/cycles", "reopen/detach-backing", "reopen/filters"]);
    expect(await list("**/detach")).toEqual(["detach", "reopen/deep/detach"]);
    expect(await list("**/detach*")).toEqual(["detach", "reopen/deep/detach", "reopen/detach-backing"]);
  });
});
