/**
 * A bug met by one scenario (a model command that throws a TypeError, as commit_abort once did on a
 * freed filter) is that run's failure, at the step that met it, with the stack: the other runs
 * still run and report, and the command exits 70 as for any internal error. It used to end the
 * whole run with nothing but the stack.
 */
import { mkdir, readdir } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { blockcheck } from "../support/cli.js";
import { nullScenario, project, type Project } from "./support/project.js";

vi.mock("../../src/engines/model/commands/block-resize.js", () => ({
  blockResize: () => {
    throw new TypeError("Cannot read properties of null (reading 'freed')");
  },
}));

const BUGGY = ['scenario "meets a bug"', "add n0: null-co", 'qmp block_resize {"node-name": "n0", "size": 4096}', "show nodes", ""].join("\n");

let p: Project | undefined;
afterEach(async () => {
  vi.unstubAllEnvs();
  await p?.remove();
  p = undefined;
});

describe("a bug in one run", () => {
  it("fails that run where it happened and lets the others report; the command exits 70", async () => {
    p = await project({ "tests/scenarios/a.scn": BUGGY, "tests/scenarios/b.scn": nullScenario("fine", "n1") });
    // The failed run's scratch directory is kept: inside the project, so that it goes with it.
    const tmp = path.join(p.dir, "tmp");
    await mkdir(tmp);
    vi.stubEnv("TMPDIR", tmp);
    const r = await blockcheck(["run", "--update", "-j", "1", "-r", "json"], { cwd: p.dir });
    expect(r.code).toBe(70);
    const results = (JSON.parse(r.stdout) as { results: Array<{ name: string; status: string; failures: Array<Record<string, unknown>> }> }).results;
    expect(results.map((x) => [x.name, x.status])).toEqual([
      ["a", "fail"],
      ["b", "pass"],
    ]);
    const [failure] = results[0]!.failures;
    expect(failure).toMatchObject({
      kind: "error",
      message: "internal error (this is a bug): TypeError: Cannot read properties of null (reading 'freed')",
      location: "tests/scenarios/a.scn:3",
      source: 'qmp block_resize {"node-name": "n0", "size": 4096}',
      infrastructure: true,
      internal: true,
    });
    expect(failure!["details"]).toMatch(/^TypeError: Cannot read properties of null \(reading 'freed'\)\n {4}at /);
    // Nothing was half-done: the run that passed wrote its golden, the one that failed none.
    expect(await p.exists("golden/b.out")).toBe(true);
    expect(await p.exists("golden/a.out")).toBe(false);
    expect((await readdir(tmp)).filter((n) => n.startsWith("blockcheck-"))).toHaveLength(1);
  });
});
