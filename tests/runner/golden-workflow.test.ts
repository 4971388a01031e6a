/**
 * The golden workflow end to end on the model engine, in a throwaway project: the behaviours the
 * design promises, as tests.
 */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { invoke } from "./support/cli.js";

let dir: string;
const scn = (title: string, name: string) =>
  `scenario "${title}"\ntags ${name === "n2" ? "slow" : "quick"}\n\n## build\nadd ${name}: null-co\nexpect exists ${name}\nshow nodes\ndel ${name}\nshow nodes\n`;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "bc-project-"));
  await mkdir(path.join(dir, "tests/scenarios/sub"), { recursive: true });
  await writeFile(path.join(dir, "tests/scenarios/a.scn"), scn("a", "n0"));
  await writeFile(path.join(dir, "tests/scenarios/b.scn"), scn("b", "n1"));
  await writeFile(path.join(dir, "tests/scenarios/sub/c.scn"), scn("c", "n2"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const run = (args: string[], env: NodeJS.ProcessEnv = {}) => invoke(["run", "-j", "2", ...args], { cwd: dir, env });
const file = (rel: string) => path.join(dir, rel);
const exists = (rel: string) => stat(file(rel)).then(() => true, () => false);
const mtime = async (rel: string) => (await stat(file(rel))).mtimeMs;

describe("golden workflow", () => {
  it("changing one line of one golden fails exactly that scenario; --update fixes only it", async () => {
    expect((await run(["--update"])).code).toBe(0);
    expect(await readFile(file("golden/b.out"), "utf8")).toBe(
      'scenario "b"\n\n## build\nadd n1: null-co\n  ok\nexpect exists n1\n  ok\nshow nodes\n  n1  null-co  rw\ndel n1\n  ok\nshow nodes\n  (no nodes)\n',
    );
    const b = await readFile(file("golden/b.out"), "utf8");
    await writeFile(file("golden/b.out"), b.replace("  n1  null-co  rw", "  n1  null-co  ro"));

    const failing = await run([]);
    expect(failing.code).toBe(1);
    expect(failing.stdout).toMatch(/^FAIL b \(model\)/m);
    expect(failing.stdout).toMatch(/^PASS a \(model\)/m);
    expect(failing.stdout).toMatch(/^PASS sub\/c \(model\)/m);
    expect(failing.stdout).toContain("-  n1  null-co  ro\n    +  n1  null-co  rw");
    expect(failing.stdout).toContain("scratch directory kept: ");
    expect(await readFile(file("golden/b.out.bad"), "utf8")).toBe(b);

    const before = { a: await mtime("golden/a.out"), c: await mtime("golden/sub/c.out") };
    await new Promise((r) => setTimeout(r, 20));
    const fixed = await run(["--update"]);
    expect(fixed.code).toBe(0);
    expect(await readFile(file("golden/b.out"), "utf8")).toBe(b);
    expect(await exists("golden/b.out.bad")).toBe(false);
    expect({ a: await mtime("golden/a.out"), c: await mtime("golden/sub/c.out") }).toEqual(before);
    for (const line of failing.stdout.split("\n").filter((l) => l.includes("scratch directory kept: "))) {
      await rm(line.split("kept: ")[1]!, { recursive: true, force: true });
    }
  });

  it("with CI set a scenario without a golden fails, naming the command, and nothing is written", async () => {
    const r = await run(["--update"], { CI: "true" });
    expect(r.code).toBe(1);
    // --update was asked for and refused: suggesting it again would not help.
    expect(r.stdout).toContain("golden file golden/a.out is missing, and --update did not create it: CI mode writes nothing");
    const plain = await run([], { CI: "true" });
    expect(plain.stdout).toContain("golden file golden/a.out is missing; create it with: npx blockcheck run --update tests/scenarios/a.scn");
    expect(await exists("golden")).toBe(false);
    expect(await exists(".blockcheck")).toBe(false);
    for (const line of (r.stdout + plain.stdout).split("\n").filter((l) => l.includes("scratch directory kept: "))) {
      await rm(line.split("kept: ")[1]!, { recursive: true, force: true });
    }
  });

  it("accept refuses a .out.bad of unknown origin unless forced; orphans are reported and pruned", async () => {
    await run(["--update"]);
    await writeFile(file("golden/a.out.bad"), "accepted\n");
    const refused = await invoke(["accept", "a"], { cwd: dir });
    expect(refused).toMatchObject({ code: 1, stdout: "0 accepted, 1 refused\n" });
    expect(refused.stderr).toContain("refused golden/a.out.bad: no record of which engine and run wrote it");
    const acc = await invoke(["accept", "--force", "a"], { cwd: dir });
    expect(acc.code).toBe(0);
    expect(acc.stdout).toMatch(/^accept golden\/a\.out\.bad → golden\/a\.out \(unknown origin\)\n/);
    expect(acc.stdout).toContain("    +accepted\n");
    expect(await readFile(file("golden/a.out"), "utf8")).toBe("accepted\n");
    await run(["--update"]);

    await writeFile(file("golden/old.out"), "x\n");
    const report = await run([]);
    expect(report.stdout).toContain("Goldens without a scenario (remove with --prune) (1):\n  golden/old.out");
    expect(report.code).toBe(0);
    await run(["--prune"]);
    expect(await exists("golden/old.out")).toBe(false);
  });

  it("selects by tag, name, glob and shard, and lists", async () => {
    const list = async (...args: string[]) => (await run(["--list", ...args])).stdout;
    expect(await list()).toBe("a  [quick]\nb  [quick]\nsub/c  [slow]\n");
    expect(await list("--tag", "slow")).toBe("sub/c  [slow]\n");
    expect(await list("--exclude-tag", "slow")).toBe("a  [quick]\nb  [quick]\n");
    expect(await list("-k", "a")).toBe("a  [quick]\n");
    expect(await list("sub/*")).toBe("sub/c  [slow]\n");
    expect(await list("tests/scenarios/sub")).toBe("sub/c  [slow]\n");
    expect((await list("--shard", "1/2")) + (await list("--shard", "2/2"))).toBe("a  [quick]\nsub/c  [slow]\nb  [quick]\n");
  });

  it("writes JUnit XML to --output; usage and configuration mistakes are typed errors (exit 2 in main)", async () => {
    await run(["--update"]);
    const r = await run(["--reporter", "junit", "--output", "out/junit.xml"]);
    expect(r.code).toBe(0);
    expect(await readFile(file("out/junit.xml"), "utf8")).toContain('<testsuite name="model" tests="3" failures="0"');
    await expect(run(["--shard", "3/2"])).rejects.toMatchObject({ code: "E_USAGE", message: expect.stringMatching(/--shard takes I\/N/) });
    await writeFile(file("blockcheck.config.json"), '{\n  "engine": "model",\n  "jbos": 2\n}\n');
    await expect(run([])).rejects.toMatchObject({
      code: "E_CONFIG",
      message: expect.stringMatching(/^blockcheck\.config\.json:3:3: unknown configuration key 'jbos' \(did you mean 'jobs'\?\)/),
    });
  });

  it("a scenario that does not load fails with its diagnostics; --bail stops starting runs", async () => {
    await run(["--update"]);
    await writeFile(file("tests/scenarios/0-broken.scn"), 'scenario "broken"\nadd n0: nosuchdriver\n');
    const r = await run([]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL 0-broken \(model\)/m);
    expect(r.stdout).toContain("tests/scenarios/0-broken.scn does not load");
    expect(r.stdout).toContain("nosuchdriver");
    const bail = await invoke(["run", "-j", "1", "--bail"], { cwd: dir, env: {} });
    expect(bail.code).toBe(1);
    expect(bail.stdout).toContain("0 passed, 1 failed, 0 skipped, 3 not run (--bail) (4 runs)");
  });

  it("graph prints the final block graph", async () => {
    await writeFile(file("tests/scenarios/g.scn"), 'scenario "g"\nadd r0: raw file=(null-co)\n');
    const r = await invoke(["graph", "tests/scenarios/g.scn"], { cwd: dir });
    expect(r).toMatchObject({ code: 0, stdout: "r0 -file-> r0/file  perm=[]  shared=[consistent-read, write, write-unchanged, resize]\n" });
    await expect(invoke(["graph", "tests/scenarios/nosuch.scn"], { cwd: dir })).rejects.toMatchObject({ code: "E_USAGE" });
  });
});
