/** The runner on real QEMU: both engines side by side, the model-vs-QEMU diff, no process left behind. */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeWithQemu } from "../support/qemu.js";
import { invoke } from "./support/cli.js";

function qemuChildren(): string[] {
  const out = execFileSync("ps", ["-o", "pid=,comm=", "--ppid", String(process.pid)], { encoding: "utf8" }).trim();
  return out ? out.split("\n").filter((l) => /qemu/.test(l)) : [];
}

describeWithQemu("runner on qemu", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "bc-qemu-"));
    await mkdir(path.join(dir, "tests/scenarios"), { recursive: true });
    await writeFile(
      path.join(dir, "tests/scenarios/chain.scn"),
      [
        'scenario "implicit backing chain, an export, a reopen"',
        "image base.qcow2 qcow2 1M",
        "image top.qcow2 qcow2 1M backing=base.qcow2 backing-fmt=qcow2",
        "add top: qcow2 file=(file filename=top.qcow2)",
        "export top id=e0",
        "show graph",
        "reopen top backing=null",
        "unexport e0",
        "del top/file -> error /is not owned by the monitor|is in use/",
        "show nodes",
        "",
      ].join("\n"),
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("runs a scenario on both engines, writes QEMU's transcript as the golden, and leaves no QEMU running", async () => {
    const r = await invoke(["run", "--engine", "both", "--update"], { cwd: dir, env: { ...process.env, CI: "" } });
    expect(r.stdout).toMatch(/^PASS chain \(qemu\)/m);
    expect(r.stdout).toMatch(/^PASS chain \(model\)/m);
    expect(r.code).toBe(0);
    const golden = await readFile(path.join(dir, "golden/chain.out"), "utf8");
    expect(golden).toContain("  top -backing-> top/backing            perm=[consistent-read]");
    expect(golden).toContain("  export e0 -root-> top ");
    expect(golden).not.toMatch(/#block|bc-qemu-/);
    expect(qemuChildren()).toEqual([]);
  });

  it("with both engines only QEMU's transcript is written as the pending file, and recorded as QEMU's", async () => {
    const good = await readFile(path.join(dir, "golden/chain.out"), "utf8");
    await writeFile(path.join(dir, "golden/chain.out"), good.replace("  ok\n", "  error: stale\n"));
    const r = await invoke(["run", "--engine", "both"], { cwd: dir, env: { ...process.env, CI: "" } });
    expect(r.code).toBe(1);
    expect(await readFile(path.join(dir, "golden/chain.out.bad"), "utf8")).toBe(good);
    expect(JSON.parse(await readFile(path.join(dir, "golden/chain.out.bad.json"), "utf8"))).toMatchObject({
      engine: "qemu",
      engineVersion: expect.stringMatching(/^7\.2\./),
    });
    expect(r.stdout).toContain("Pending goldens (1)");
    await writeFile(path.join(dir, "golden/chain.out"), good);
    for (const line of r.stdout.split("\n").filter((l) => l.includes("scratch directory kept: "))) {
      await rm(line.split("kept: ")[1]!, { recursive: true, force: true });
    }
  });
});
