/**
 * Goldens you can trust, driven through the CLI: a pending file is written only for a real
 * difference, holds exactly the transcript, and records which engine and run wrote it; a new
 * scenario's transcript waits as `.out.new`; a run that did not finish writes nothing and says why;
 * --update says what it did; --prune clears orphan pending files, and says when it cannot.
 */
import { createHash } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeEngine } from "./support/fake-engine.js";
import { blockcheck, removeKept } from "./support/main-io.js";
import { nullScenario, project, type Project } from "./support/project.js";
import { modelRunOptions } from "./support/run-options.js";
import { runScenarios } from "../../src/runner/run-all.js";

let p: Project;
beforeEach(async () => {
  p = await project({ "tests/scenarios/a.scn": nullScenario("a", "n0"), "tests/scenarios/b.scn": nullScenario("b", "n1") });
});
afterEach(async () => {
  await p.remove();
});

const run = async (...args: string[]) => {
  const r = await blockcheck(["run", "-j", "2", ...args], { cwd: p.dir });
  await removeKept(r.stdout);
  return r;
};
const sha = (text: string) => createHash("sha256").update(text).digest("hex");

describe("pending files", () => {
  it("a difference writes .out.bad holding exactly the transcript, and a record of the engine and run", async () => {
    expect((await run("--update")).code).toBe(0);
    const good = await p.read("golden/b.out");
    const edited = good.replace("n1  null-co", "n1  raw");
    await p.write("golden/b.out", edited);

    const r = await run();
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("transcript differs from golden/b.out (actual written to golden/b.out.bad)");
    expect(await p.read("golden/b.out.bad")).toBe(good);
    expect(JSON.parse(await p.read("golden/b.out.bad.json"))).toEqual({
      kind: "mismatch",
      engine: "model",
      engineVersion: expect.stringMatching(/^7\.2\.\d+$/),
      run: expect.stringMatching(/^\d{4}-\d\d-\d\dT.* pid \d+$/),
      scenario: "tests/scenarios/b.scn",
      instance: "b",
      golden: "b.out",
      goldenSha256: sha(edited),
    });
    expect(r.stdout).toContain("Pending goldens (1): review them with 'npx blockcheck review', or promote them with 'npx blockcheck accept'");
    expect(r.stdout).toContain("  golden/b.out.bad  (written by model)");
    expect(await p.exists("golden/a.out.bad")).toBe(false);

    // Fixed: the next run passes and takes the pending file and its record away.
    await p.write("golden/b.out", good);
    expect((await run()).code).toBe(0);
    expect(await p.exists("golden/b.out.bad")).toBe(false);
    expect(await p.exists("golden/b.out.bad.json")).toBe(false);
  });

  it("a scenario without a golden fails and leaves its transcript as .out.new, which accept turns into the golden", async () => {
    const r = await run();
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      "golden file golden/a.out is missing; the transcript is pending in golden/a.out.new: review it with 'npx blockcheck review', " +
        "or create the golden with: npx blockcheck run --update tests/scenarios/a.scn",
    );
    expect(r.stdout).toContain("  golden/a.out.new  (new, written by model)");
    expect(JSON.parse(await p.read("golden/a.out.new.json"))).toMatchObject({ kind: "new", engine: "model", golden: "a.out" });
    expect(JSON.parse(await p.read("golden/a.out.new.json"))).not.toHaveProperty("goldenSha256");
    const transcript = await p.read("golden/a.out.new");

    const acc = await blockcheck(["accept", "tests/scenarios/a.scn"], { cwd: p.dir });
    expect(acc.code).toBe(0);
    expect(acc.stdout).toMatch(/^accept golden\/a\.out\.new → golden\/a\.out \(new golden; model engine 7\.2\.\d+, run .* pid \d+\)\n/);
    expect(acc.stdout).toContain('    +scenario "a"\n');
    expect(acc.stdout).toMatch(/1 accepted\n$/);
    expect(await p.read("golden/a.out")).toBe(transcript);
    expect(await p.exists("golden/a.out.new")).toBe(false);
    expect(await p.exists("golden/a.out.new.json")).toBe(false);
    expect(await p.exists("golden/b.out.new")).toBe(true);
  });

  it("with CI set (or --ci) nothing is pending: a missing golden fails and no file is written", async () => {
    const r = await blockcheck(["run"], { cwd: p.dir, env: { CI: "true" } });
    await removeKept(r.stdout);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("golden file golden/a.out is missing; create it with: npx blockcheck run --update tests/scenarios/a.scn");
    expect(r.stdout).not.toContain("Pending goldens");
    expect(await p.exists("golden")).toBe(false);
  });

  it("a run that did not finish (QEMU would crash) writes no .out.bad: it is reported as what it is", async () => {
    await run("--update");
    await p.write("tests/scenarios/b.scn", 'scenario "b"\nadd n1: null-co\nqmp blockdev-reopen {"options": []}\n');
    const r = await run();
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("E_QEMU_CRASHED");
    expect(r.stdout).not.toContain("transcript differs");
    expect(await p.exists("golden/b.out.bad")).toBe(false);
    expect(await p.exists("golden/b.out.bad.json")).toBe(false);

    const u = await run("--update");
    expect(u.stdout).toMatch(/^  left alone   golden\/b\.out: the model run did not finish: E_QEMU_CRASHED: /m);
    expect(await p.read("golden/b.out")).toContain('scenario "b"');
  });

  it("--update says what it created, updated and left alone", async () => {
    await run("--update");
    await p.write("golden/b.out", "stale\n");
    await p.write("tests/scenarios/c.scn", nullScenario("c", "n2"));
    await p.write("tests/scenarios/d.scn", 'scenario "d"\nadd n3: null-co\nexpect ro n3\n');
    const r = await run("--update");
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      [
        "Goldens (--update): 1 created, 1 updated, 1 unchanged, 1 left alone",
        "  created      golden/c.out",
        "  updated      golden/b.out",
        "  left alone   golden/d.out: the model run failed (",
      ].join("\n"),
    );
    expect(r.stdout).toContain("), so it is not a spec\n");
    // The failed run's transcript is still there to look at.
    expect(await p.exists("golden/d.out.new")).toBe(true);
  });

  it("--prune removes orphan pending files and records, and says when a selection makes it do nothing", async () => {
    await run("--update");
    // An orphan pending file with its record, one without, and a record without its pending file.
    const litter = ["golden/gone.out.bad", "golden/gone.out.bad.json", "golden/old/x.out.new", "golden/zz.out.bad.json"];
    for (const f of litter) await p.write(f, "{}\n");

    const selected = await run("--prune", "a");
    expect(selected.stderr).toContain("--prune does nothing with a selection: orphan goldens are found only when every scenario runs");
    for (const f of litter) expect(await p.exists(f)).toBe(true);

    const report = await run();
    expect(report.stdout).toContain(
      "Goldens without a scenario (remove with --prune) (3):\n  golden/gone.out.bad\n  golden/old/x.out.new\n  golden/zz.out.bad.json\n",
    );
    const pruned = await run("--prune");
    expect(pruned.code).toBe(0);
    for (const f of litter) expect(await p.exists(f)).toBe(false);
    expect(await p.exists("golden/a.out")).toBe(true);
  });
});

describe("infrastructure failures at the runner", () => {
  it("a run that times out is not compared with its golden and writes no pending file", async () => {
    await run("--update");
    const summary = await runScenarios(
      modelRunOptions(p.dir, {
        paths: ["a"],
        engines: ["qemu"],
        jobs: 1,
        timeoutMs: 50,
        makeEngine: () => new FakeEngine("qemu", { hang: true }),
        scratchParent: os.tmpdir(),
      }),
    );
    const [result] = summary.results;
    expect(result).toMatchObject({ status: "fail", golden: { file: "golden/a.out", status: "not-compared" } });
    expect(result!.failures).toEqual([expect.objectContaining({ kind: "timeout", infrastructure: true })]);
    expect(await p.exists("golden/a.out.bad")).toBe(false);
    if (result!.scratchDir) await removeKept(`scratch directory kept: ${path.resolve(result!.scratchDir)}`);
  });
});
