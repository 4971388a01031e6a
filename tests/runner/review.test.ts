/**
 * `blockcheck review` and `blockcheck accept` as a user drives them: answers piped on stdin, hunk
 * by hunk; what is accepted lands in the golden, what is rejected is dropped, what is skipped stays
 * pending; files from another engine than the golden's, of unknown origin, or against a golden that
 * changed since are refused unless asked for.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { blockcheck, removeKept } from "./support/main-io.js";
import { nullScenario, project, type Project } from "./support/project.js";

/** Ten adds: the transcript's `add nI` line is line 3 + 2I, so edits at n0, n4 and n9 are three hunks. */
const TEN = ['scenario "r"', "", ...Array.from({ length: 10 }, (_, i) => `add n${i}: null-co`), ""].join("\n");

let p: Project;
beforeEach(async () => {
  p = await project({ "tests/scenarios/r.scn": TEN });
});
afterEach(async () => {
  await p.remove();
});

const run = async (...args: string[]) => {
  const r = await blockcheck(["run", ...args], { cwd: p.dir });
  await removeKept(r.stdout);
  return r;
};
const review = (stdin: string, ...args: string[]) => blockcheck(["review", ...args], { cwd: p.dir, stdin });
const edit = (text: string, ...nodes: number[]) => nodes.reduce((t, n) => t.replace(`add n${n}: null-co\n`, `add n${n}: null-co EDITED\n`), text);

/** A golden edited at n0, n4 and n9, and the run that leaves the true transcript pending. */
async function threeHunks(): Promise<string> {
  expect((await run("--update")).code).toBe(0);
  const truth = await p.read("golden/r.out");
  await p.write("golden/r.out", edit(truth, 0, 4, 9));
  expect((await run()).code).toBe(1);
  expect(await p.read("golden/r.out.bad")).toBe(truth);
  return truth;
}

describe("blockcheck review", () => {
  it("takes answers hunk by hunk: accepted ones go into the golden, rejected ones are dropped, skipped ones stay pending", async () => {
    const truth = await threeHunks();
    const r = await review("a\nr\ns\n");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\n\[1\/1\] golden\/r\.out\.bad → golden\/r\.out\n  model engine 7\.2\.\d+, run .* pid \d+; scenario tests\/scenarios\/r\.scn \(r\)\n/);
    expect(r.stdout).toContain("  --- golden/r.out\n  +++ golden/r.out.bad\n  @@ -1,6 +1,6 @@ (change 1 of 3)\n");
    expect(r.stdout).toContain("  -add n0: null-co EDITED\n  +add n0: null-co\n");
    // Piped answers are echoed after their prompt.
    expect(r.stdout).toContain("accept this change? [a]ccept [r]eject [s]kip [q]uit [?] a\n");
    expect(r.stdout).toContain("(change 3 of 3)");
    expect(r.stdout).toContain("review:\n  golden/r.out: of 3 changes 1 accepted, 1 rejected, 1 skipped (the skipped ones are still pending)\n");
    expect(await p.read("golden/r.out")).toBe(edit(truth, 4, 9));
    expect(await p.read("golden/r.out.bad")).toBe(edit(truth, 4));
    expect(JSON.parse(await p.read("golden/r.out.bad.json"))).toMatchObject({ kind: "mismatch", engine: "model" });

    // Only the skipped change is left; accepting it finishes the file.
    const again = await review("a\n");
    expect(again.stdout).not.toContain("(change 1 of");
    expect(again.stdout).toContain("  -add n9: null-co EDITED\n  +add n9: null-co\n");
    expect(again.stdout).toContain("review:\n  updated golden/r.out\n");
    expect(await p.read("golden/r.out")).toBe(edit(truth, 4));
    expect(await p.exists("golden/r.out.bad")).toBe(false);
    expect(await p.exists("golden/r.out.bad.json")).toBe(false);

    // The rejected change is still a difference, and the next run says so.
    const rerun = await run();
    expect(rerun.code).toBe(1);
    expect(rerun.stdout).toContain("-add n4: null-co EDITED\n    +add n4: null-co");
  });

  it("a new golden is one change; unknown answers get help, the end of input leaves the rest pending", async () => {
    await p.write("tests/scenarios/s.scn", nullScenario("s", "m0"));
    await p.write("tests/scenarios/t.scn", nullScenario("t", "m1"));
    expect((await run()).code).toBe(1);
    const r = await review("x\n?\nA\n", "tests/scenarios/s.scn");
    expect(r.stdout).toContain("[1/1] golden/s.out.new → golden/s.out (new golden)\n");
    expect(r.stdout).toContain('  +scenario "s"\n');
    expect(r.stdout).toContain("'x' is not an answer\n  a  accept this change into the golden\n");
    expect(r.stdout).toContain("review:\n  created golden/s.out\n");
    expect(await p.read("golden/s.out")).toContain('scenario "s"');

    const eof = await review("");
    expect(eof.stdout).toContain("(end of input: the rest stays pending)\n");
    expect(eof.stdout).toContain("  skipped golden/r.out.new\n  skipped golden/t.out.new\n");
    expect(await p.exists("golden/t.out.new")).toBe(true);

    const quit = await review("r\nq\n");
    expect(quit.stdout).toContain("  rejected golden/r.out.new\n  skipped golden/t.out.new\n");
    expect(await p.exists("golden/r.out.new")).toBe(false);
    expect(await p.exists("golden/r.out.new.json")).toBe(false);
  });

  it("a change written by another engine than the golden's can only be rejected or skipped, unless --from-engine", async () => {
    await threeHunks();
    const record = JSON.parse(await p.read("golden/r.out.bad.json"));
    await p.write("golden/r.out.bad.json", JSON.stringify({ ...record, engine: "qemu" }));
    const r = await review("a\ns\nq\n");
    expect(r.stdout).toContain(
      "  cannot be accepted: written by the qemu engine, but this golden holds the model engine's transcripts; accept it with --from-engine qemu\n",
    );
    expect(r.stdout).toContain("[?] a\ncannot accept: written by the qemu engine");
    expect(await p.exists("golden/r.out.bad")).toBe(true);

    const acc = await blockcheck(["accept"], { cwd: p.dir });
    expect(acc.code).toBe(1);
    expect(acc.stderr).toContain("refused golden/r.out.bad: written by the qemu engine");
    const wrong = await blockcheck(["accept", "--from-engine", "qemm"], { cwd: p.dir });
    expect(wrong).toMatchObject({ code: 2, stderr: expect.stringContaining("--from-engine: unknown engine 'qemm' (did you mean 'qemu'?)") });
    const from = await review("A\n", "--from-engine", "qemu");
    expect(from.stdout).toContain("review:\n  updated golden/r.out\n");
  });
});

describe("blockcheck accept", () => {
  it("shows the diff it promotes, and refuses a file whose golden changed since it was written unless --force", async () => {
    const truth = await threeHunks();
    await p.write("golden/r.out", edit(truth, 0));
    const stale = await blockcheck(["accept", "r"], { cwd: p.dir });
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain("refused golden/r.out.bad: the golden changed after this file was written (run the scenario again, or accept it with --force)");
    const forced = await blockcheck(["accept", "--force", "r"], { cwd: p.dir });
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain("    --- golden/r.out\n    +++ golden/r.out.bad\n    @@ -1,6 +1,6 @@\n");
    expect(forced.stdout).toContain("    -add n0: null-co EDITED\n    +add n0: null-co\n");
    expect(await p.read("golden/r.out")).toBe(truth);
  });

  it("with CI set, review and accept write nothing and say so (exit 2)", async () => {
    for (const cmd of ["review", "accept"]) {
      const r = await blockcheck([cmd], { cwd: p.dir, env: { CI: "1" } });
      expect(r).toMatchObject({ code: 2, stderr: `blockcheck ${cmd}: error: CI is set: ${cmd} writes nothing\n` });
    }
    expect(await blockcheck(["review"], { cwd: p.dir })).toMatchObject({ code: 0, stdout: "nothing to review\n" });
  });
});
