/**
 * A bug met by one scenario (a model command that throws a TypeError, as commit_abort once did on a
 * freed filter) is that run's failure, at the step that met it, with the stack: the other runs
 * still run and report, and the command exits 70 as for any internal error. It used to end the
 * whole run with nothing but the stack. So is a bug met as the engine stops (the model's close of
 * every node at quit), which used to end the whole run with nothing but the error.
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

vi.mock("../../src/engines/model/jobs/quit.js", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../src/engines/model/jobs/quit.js")>();
  return {
    ...original,
    closeAll: (state: Parameters<typeof original.closeAll>[0]) => {
      if (state.nodes.has("broken")) throw new TypeError("Cannot read properties of undefined (reading 'bs')");
      return original.closeAll(state);
    },
  };
});

const BUGGY = ['scenario "meets a bug"', "add n0: null-co", 'qmp block_resize {"node-name": "n0", "size": 4096}', "show nodes", ""].join("\n");

let p: Project | undefined;
afterEach(async () => {
  vi.unstubAllEnvs();
  await p?.remove();
  p = undefined;
});

type Results = Array<{ name: string; status: string; failures: Array<Record<string, unknown>> }>;

/** `blockcheck run --update` of the project, which exits 70; each run's name, status and failures. */
async function runMeetingABug(dir: string): Promise<Results> {
  const r = await blockcheck(["run", "--update", "-j", "1", "-r", "json"], { cwd: dir });
  expect(r.code).toBe(70);
  const results = (JSON.parse(r.stdout) as { results: Results }).results;
  expect(results.map((x) => [x.name, x.status])).toEqual([
    ["a", "fail"],
    ["b", "pass"],
  ]);
  return results;
}

describe("a bug in one run", () => {
  it("fails that run where it happened and lets the others report; the command exits 70", async () => {
    p = await project({ "tests/scenarios/a.scn": BUGGY, "tests/scenarios/b.scn": nullScenario("fine", "n1") });
    // The failed run's scratch directory is kept: inside the project, so that it goes with it.
    const tmp = path.join(p.dir, "tmp");
    await mkdir(tmp);
    vi.stubEnv("TMPDIR", tmp);
    const [failure] = (await runMeetingABug(p.dir))[0]!.failures;
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

  it("fails a run whose engine's stop meets a bug, and lets the others report", async () => {
    p = await project({ "tests/scenarios/a.scn": 'scenario "stops badly"\nadd broken: null-co\nshow nodes\n', "tests/scenarios/b.scn": nullScenario("fine", "n1") });
    const tmp = path.join(p.dir, "tmp");
    await mkdir(tmp);
    vi.stubEnv("TMPDIR", tmp);
    const [failure] = (await runMeetingABug(p.dir))[0]!.failures;
    expect(failure).toMatchObject({
      kind: "error",
      message: "internal error (this is a bug): TypeError: Cannot read properties of undefined (reading 'bs')",
      infrastructure: true,
      internal: true,
    });
    expect(failure!["details"]).toMatch(/^TypeError: Cannot read properties of undefined \(reading 'bs'\)\n {4}at /);
    expect(await p.exists("golden/b.out")).toBe(true);
    expect(await p.exists("golden/a.out")).toBe(false);
    // The failed run's scratch directory is kept, in the project's TMPDIR like the first test's.
    expect((await readdir(tmp)).filter((n) => n.startsWith("blockcheck-"))).toHaveLength(1);
  });
});
