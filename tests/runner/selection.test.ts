/**
 * No silent green, through the CLI: a selection without scenarios fails (unless --pass-with-none);
 * `run` and `check` find the project from a subdirectory, take `reopen/`, `reopen` and
 * `tests/scenarios/reopen` alike, and agree on paths that do not exist or select nothing; an empty
 * scenario is an error, not a golden of one empty line.
 */
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { blockcheck, removeKept, type CliRun } from "./support/main-io.js";
import { nullScenario, project, type Project } from "./support/project.js";

let p: Project;
beforeEach(async () => {
  p = await project({
    "tests/scenarios/reopen/detach.scn": nullScenario("detach", "n0", "reopen"),
    "tests/scenarios/reopen/swap.scn": nullScenario("swap", "n1", "reopen"),
    "tests/scenarios/add/one.scn": nullScenario("one", "n2", "add"),
  });
  await p.write("tests/scenarios/empty-dir/notes.txt", "no scenario here\n");
});
afterEach(async () => {
  await p.remove();
});

const cli = async (args: string[], cwd = p.dir): Promise<CliRun> => {
  const r = await blockcheck(args, { cwd });
  await removeKept(r.stdout);
  return r;
};
const listed = async (...args: string[]) => (await cli(["run", "--list", ...args])).stdout;

describe("a selection without scenarios fails", () => {
  it("an unknown tag exits 1 naming the selection; --pass-with-none makes it a pass", async () => {
    const r = await cli(["run", "-t", "nosuchtag"]);
    expect(r).toMatchObject({ code: 1, stdout: "" });
    expect(r.stderr).toBe(
      "blockcheck run: error: no scenario selected: --tag nosuchtag matches none of the 3 scenario runs under tests/scenarios " +
        "(pass --pass-with-none to allow that)\n",
    );
    const allowed = await cli(["run", "-t", "nosuchtag", "--pass-with-none"]);
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toContain("0 passed, 0 failed, 0 skipped (0 runs)");
    expect((await cli(["run", "--list", "-k", "zzz", "add"])).stderr).toContain(
      "no scenario selected: -k \"zzz\" matches none of the 1 scenario run of 'add'",
    );
  });

  it("a project without scenarios fails too", async () => {
    const empty = await project({});
    try {
      const r = await cli(["run"], empty.dir);
      expect(r).toMatchObject({ code: 1, stderr: expect.stringContaining("no scenario selected: there is no scenario under tests/scenarios") });
      expect(await cli(["check"], empty.dir)).toMatchObject({ code: 1, stderr: expect.stringContaining("there is no scenario under tests/scenarios") });
      // Allowed, it passes; but no scenario at all says nothing about the goldens: --prune keeps them.
      await empty.write("golden/kept.out", "x\n");
      expect((await cli(["run", "--pass-with-none", "--prune"], empty.dir)).code).toBe(0);
      expect(await empty.exists("golden/kept.out")).toBe(true);
    } finally {
      await empty.remove();
    }
  });
});

describe("paths", () => {
  it("reopen/, reopen, tests/scenarios/reopen, reopen/* and a name without .scn select alike", async () => {
    const want = "reopen/detach  [reopen]\nreopen/swap  [reopen]\n";
    for (const arg of ["reopen/", "reopen", "tests/scenarios/reopen", "tests/scenarios/reopen/", "reopen/*"]) expect(await listed(arg)).toBe(want);
    expect(await listed("reopen/detach")).toBe("reopen/detach  [reopen]\n");
    expect(await listed("tests/scenarios/reopen/detach.scn")).toBe("reopen/detach  [reopen]\n");
  });

  it("`run reopen/ --update` writes those goldens and passes", async () => {
    const r = await cli(["run", "reopen/", "--update"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Goldens (--update): 2 created, 0 updated, 0 unchanged, 0 left alone");
    expect(await p.exists("golden/reopen/detach.out")).toBe(true);
    expect(await p.exists("golden/add/one.out")).toBe(false);
  });

  it("run and check work from a subdirectory of the project, with paths relative to it", async () => {
    await cli(["run", "--update"]);
    const sub = p.file("tests/scenarios/reopen");
    const r = await cli(["run"], sub);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("3 passed, 0 failed, 0 skipped (3 runs)");
    expect(await listed()).toBe(await (async () => (await cli(["run", "--list"], sub)).stdout)());
    expect((await cli(["run", "--list", "detach.scn"], sub)).stdout).toBe("reopen/detach  [reopen]\n");
    expect((await cli(["run", "--list", "add/"], sub)).stdout).toBe("add/one  [add]\n");
    expect(await cli(["check", "detach.scn"], sub)).toMatchObject({ code: 0, stdout: "1 scenario file OK\n" });
    expect(await cli(["check"], sub)).toMatchObject({ code: 0, stdout: "3 scenario files OK\n" });
    // Written where the project keeps them, not in the subdirectory.
    expect(await p.exists(".blockcheck/times.json")).toBe(true);
    expect(await p.exists("tests/scenarios/reopen/.blockcheck")).toBe(false);
    expect(await p.exists("tests/scenarios/reopen/golden")).toBe(false);
  });

  it("run and check agree on a path that does not exist (exit 2) and on one that selects nothing (exit 1)", async () => {
    const run = await cli(["run", "no/such"]);
    const check = await cli(["check", "no/such"]);
    expect(run.code).toBe(2);
    expect(check.code).toBe(2);
    const message = "error: no such file or directory: no/such (looked for it in . and in the scenario root tests/scenarios)\n";
    expect(run.stderr).toBe(`blockcheck run: ${message}`);
    expect(check.stderr).toBe(`blockcheck check: ${message}`);

    const emptyRun = await cli(["run", "empty-dir"]);
    const emptyCheck = await cli(["check", "empty-dir"]);
    expect(emptyRun.code).toBe(1);
    expect(emptyCheck.code).toBe(1);
    const none = "error: no scenario selected: 'empty-dir' selects no scenario under tests/scenarios (pass --pass-with-none to allow that)\n";
    expect(emptyRun.stderr).toBe(`blockcheck run: ${none}`);
    expect(emptyCheck.stderr).toBe(`blockcheck check: ${none}`);
    expect((await cli(["check", "--pass-with-none", "empty-dir"])).code).toBe(0);
    // One PATH selecting nothing among others still fails: it is most likely a typo.
    expect((await cli(["run", "reopen", "nomatch*"])).stderr).toContain("no scenario selected: 'nomatch*' selects no scenario");
  });
});

describe("an empty scenario", () => {
  it("is an error for run (no golden is written) and for check", async () => {
    await p.write("tests/scenarios/add/blank.scn", "# nothing here yet\n\n");
    const r = await cli(["run", "--update", "add"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL add\/blank \(model\)/m);
    expect(r.stdout).toContain("tests/scenarios/add/blank.scn:1:1: error: empty scenario: the file has no statements");
    expect(await p.exists("golden/add/blank.out")).toBe(false);
    expect(await p.exists("golden/add/blank.out.new")).toBe(false);

    const c = await cli(["check", "add"]);
    expect(c.code).toBe(1);
    expect(c.stdout).toContain(`${path.join("tests/scenarios/add/blank.scn")}:1:1: error: empty scenario: the file has no statements\n`);
    expect(c.stdout).toContain("1 of 2 scenario files invalid\n");
  });
});
