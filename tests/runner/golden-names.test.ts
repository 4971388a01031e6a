/**
 * Golden file names are derived injectively from the scenario path and its parameter values, and
 * always land under the golden root: no scenario can write, read or prune another one's golden.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runScenarios } from "../../src/runner/run-all.js";
import { invoke } from "./support/cli.js";
import { scenario } from "./support/scenario.js";
import { modelRunOptions } from "./support/run-options.js";

let top: string;
let dir: string;

beforeEach(async () => {
  // The project sits two levels down so that `../../x` from golden/ stays inside `top`, where the
  // test can see it.
  top = await mkdtemp(path.join(os.tmpdir(), "bc-names-"));
  dir = path.join(top, "a/b");
  await mkdir(path.join(dir, "tests/scenarios/sub"), { recursive: true });
});
afterEach(async () => {
  await rm(top, { recursive: true, force: true });
});

const scn = (title: string, node: string, each = "") =>
  `scenario "${title}"\n${each ? `each ${each}\n` : ""}add ${node}: null-co\nshow nodes\n`;
async function write(rel: string, text: string): Promise<void> {
  await mkdir(path.dirname(path.join(dir, "tests/scenarios", rel)), { recursive: true });
  await writeFile(path.join(dir, "tests/scenarios", rel), text);
}
const run = (args: string[], env: NodeJS.ProcessEnv = {}) => invoke(["run", "-j", "2", ...args], { cwd: dir, env });

/** Every file under `root`, relative, sorted. */
async function files(root: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) await visit(full);
      else out.push(path.relative(root, full));
    }
  };
  await visit(root);
  return out.sort();
}

describe("golden names", () => {
  it("parameter values cannot climb out of golden/ or onto another scenario's golden", async () => {
    await write("b.scn", scn("b", "nb"));
    await write("sub/a.scn", scn("a", "na", "p in ../../../x ../b"));
    const first = await run(["--update"]);
    expect(first.code).toBe(0);
    // Nothing outside the project; the only files are the project's own.
    expect((await files(top)).filter((f) => !f.startsWith(path.join("a", "b") + path.sep))).toEqual([]);
    expect(await files(path.join(dir, "golden"))).toEqual([
      "b.out",
      "sub/a.p=%2E%2E%2F%2E%2E%2F%2E%2E%2Fx.out",
      "sub/a.p=%2E%2E%2Fb.out",
    ]);
    expect(await readFile(path.join(dir, "golden/b.out"), "utf8")).toContain('scenario "b"');
    const again = await run(["--prune"]);
    expect(again.stdout).toContain("3 passed");
    expect(again.code).toBe(0);
    expect(await files(path.join(dir, "golden"))).toHaveLength(3);
  });

  it("a scenario named like another's parameterized or engine-specific golden keeps its own", async () => {
    await write("y.scn", scn("y", "ny", "p in a"));
    await write("y.p=a.scn", scn("y.p=a", "nya"));
    await write("x.scn", scn("x", "nx"));
    await write("x.model.scn", scn("x.model", "nxm"));
    await write("v1.0/z.scn", scn("z", "nz"));
    expect((await run(["--update"])).code).toBe(0);
    expect(await files(path.join(dir, "golden"))).toEqual([
      "v1%2E0/z.out",
      "x%2Emodel.out",
      "x.out",
      "y%2Ep=a.out",
      "y.p=a.out",
    ]);
    const r = await run(["--prune"]);
    expect(r.stdout).toContain("5 passed");
    expect(r.stdout).not.toContain("Goldens without a scenario");
    expect(r.stdout).not.toContain("engine-specific");
    expect(r.code).toBe(0);
    expect(await readFile(path.join(dir, "golden/x.out"), "utf8")).toContain('scenario "x"');
    expect(await readFile(path.join(dir, "golden/x%2Emodel.out"), "utf8")).toContain('scenario "x.model"');
  });

  it("accept PATH promotes only that scenario's .out.bad, not one of a scenario whose name extends it", async () => {
    await write("x.scn", scn("x", "nx"));
    await write("x.model.scn", scn("x.model", "nxm"));
    expect((await run(["--update"])).code).toBe(0);
    // x.model changes, so its run fails and writes its .out.bad.
    await write("x.model.scn", scn("x.model", "nxm") + "show nodes\n");
    const failing = await run([]);
    expect(failing.stdout).toMatch(/^FAIL x\.model \(model\)/m);
    for (const line of failing.stdout.split("\n").filter((l) => l.includes("scratch directory kept: "))) {
      await rm(line.split("kept: ")[1]!, { recursive: true, force: true });
    }
    const r = await invoke(["accept", "tests/scenarios/x.scn"], { cwd: dir });
    expect(r.stdout).toBe("nothing to accept\n");
  });

  it("a scenario outside the scenario root is refused, naming the root", async () => {
    await mkdir(path.join(dir, "elsewhere"));
    await writeFile(path.join(dir, "elsewhere/same.scn"), scn("same", "n0"));
    await expect(run(["elsewhere/same.scn"])).rejects.toMatchObject({
      code: "E_USAGE",
      message: expect.stringContaining("'elsewhere/same.scn' is outside the scenario root tests/scenarios"),
    });
  });

  it("two runs that would share a golden stop the run before anything is written, naming both", async () => {
    await write("x/y.scn", scn("y", "n0"));
    const [inst] = scenario(scn("y", "n0"));
    const run = runScenarios({
      ...modelRunOptions(dir, { jobs: 1, update: true }),
      // A loader that names one file twice, as no discovered file could be named.
      loader: async () => ({
        ok: true,
        instances: [
          { ...inst!, file: "first.scn", name: "x//y" },
          { ...inst!, file: "second.scn", name: "x/./y" },
        ],
      }),
    });
    await expect(run).rejects.toMatchObject({
      code: "E_CONFIG",
      message: "first.scn and second.scn would share the golden file x/y.out; rename one of them",
    });
    expect(await files(path.join(dir, "golden"))).toEqual([]);
  });
});
