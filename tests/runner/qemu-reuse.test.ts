/**
 * QEMU processes kept from one scenario for the next (engines/qemu/reuse.ts, runner/warm-pool.ts),
 * through `blockcheck run`: the transcripts are those of fresh processes, fewer processes start, and
 * a failed scenario's directory and process are not handed on.
 */
import { chmodSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeWithQemu } from "../support/qemu.js";
import { invoke } from "./support/cli.js";

describeWithQemu("reusing QEMU across scenarios", () => {
  let dir: string;
  let starts: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "bc-reuse-run-"));
    starts = path.join(dir, "starts");
    // Each QEMU started goes through a wrapper that notes it, then becomes QEMU (same pid).
    const wrap = async (name: string, binary: string) => {
      const file = path.join(dir, name);
      await writeFile(file, `#!/bin/sh\necho ${name} >> "${starts}"\nexec ${binary} "$@"\n`);
      chmodSync(file, 0o755);
      return file;
    };
    env = {
      ...process.env,
      CI: "",
      QSD_PROG: await wrap("qsd", process.env.QSD_PROG ?? "qemu-storage-daemon"),
      QEMU_PROG: await wrap("qemu", process.env.QEMU_PROG ?? "qemu-system-x86_64"),
    };
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const started = async () => (await readFile(starts, "utf8").catch(() => "")).split("\n").filter(Boolean).length;

  it("gives every scenario of the repository its golden transcript, one after another on kept processes", async () => {
    await rm(starts, { force: true });
    const r = await invoke(["run", "--engine", "qemu", "--ci", "-j", "1"], { cwd: process.cwd(), env: { ...env, CI: "1" } });
    expect(r.stderr).toBe("");
    const summary = /(\d+) passed, 0 failed, (\d+) skipped \((\d+) runs\)/.exec(r.stdout);
    expect(summary, r.stdout.slice(-2000)).not.toBeNull();
    expect(r.code).toBe(0);
    // Far fewer processes than runs: most scenarios ran on a process an earlier one left clean.
    expect(await started()).toBeLessThan(Number(summary![3]) * 0.75);
    // The whole corpus on one QEMU at a time: about 100 s for 719 runs on an idle 2-core machine.
  }, 300_000);

  it("hands a later scenario a clean directory and process: the same transcripts as with --fresh-qemu", async () => {
    const project = path.join(dir, "project");
    await mkdir(path.join(project, "tests/scenarios"), { recursive: true });
    await writeFile(
      path.join(project, "tests/scenarios/a-leaves.scn"),
      ['scenario "leaves images, nodes, an export and its server"', "image a.qcow2 qcow2 1M", "add a: qcow2 file=(file filename=a.qcow2)", "export a", ""].join("\n"),
    );
    await writeFile(
      path.join(project, "tests/scenarios/b-finds-nothing.scn"),
      [
        'scenario "finds none of it"',
        "add a: file filename=a.qcow2 -> error /No such file or directory/",
        "add n: null-co",
        "export n",
        "show nodes",
        "",
      ].join("\n"),
    );
    await rm(starts, { force: true });
    const fresh = await invoke(["run", "--engine", "qemu", "--update", "--fresh-qemu", "-j", "1"], { cwd: project, env });
    expect(fresh.code, fresh.stdout).toBe(0);
    expect(await started()).toBe(2);
    await rm(starts, { force: true });
    const reused = await invoke(["run", "--engine", "qemu", "--ci", "-j", "1"], { cwd: project, env: { ...env, CI: "1" } });
    expect(reused.code, reused.stdout).toBe(0);
    expect(await started()).toBe(1);
  });

  it("keeps a failed scenario's directory as it was, and starts the next scenario on a fresh process", async () => {
    const project = path.join(dir, "failing");
    await mkdir(path.join(project, "tests/scenarios"), { recursive: true });
    await writeFile(path.join(project, "tests/scenarios/a-fails.scn"), ['scenario "fails"', "image a.qcow2 qcow2 1M", "add a: null-co", "expect node a read-only=on", ""].join("\n"));
    await writeFile(path.join(project, "tests/scenarios/b-passes.scn"), ['scenario "passes"', "add n: null-co", ""].join("\n"));
    await rm(starts, { force: true });
    const r = await invoke(["run", "--engine", "qemu", "--update", "-j", "1"], { cwd: project, env });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL a-fails \(qemu\)/m);
    expect(r.stdout).toMatch(/^PASS b-passes \(qemu\)/m);
    expect(await started()).toBe(2);
    const kept = [...r.stdout.matchAll(/scratch directory kept: (\S+)/g)].map((m) => m[1]!);
    expect(kept).toHaveLength(1);
    expect(await readdir(kept[0]!)).toContain("a.qcow2");
    await rm(kept[0]!, { recursive: true, force: true });
  });
});
