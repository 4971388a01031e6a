/**
 * An `io` step whose qemu-io command fails is an error outcome, on real QEMU and on the model alike:
 * without `-> error` the scenario fails with qemu-io's message and `--update` writes nothing; with
 * it the step passes and the transcript keeps qemu-io's text.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { invoke } from "../../runner/support/cli.js";
import { project, type Project } from "../../runner/support/project.js";
import { describeWithQemu } from "../../support/qemu.js";

const SETUP = ["require io", "image d.qcow2 qcow2 1M", "add top: qcow2 file=(file filename=d.qcow2)", 'io top "write -P 0xa5 0 64k"'];

describeWithQemu("io outcomes on both engines", () => {
  let p: Project;
  // A failed run keeps its scratch directory on purpose. The runner makes it under os.tmpdir() of
  // this process (the CLI runs in-process here), so point that into the project, which afterAll
  // removes, instead of leaving it in the system's temp directory.
  const savedTmp = process.env["TMPDIR"];
  const env = (): NodeJS.ProcessEnv => ({ ...process.env, CI: "" });
  beforeAll(async () => {
    p = await project({
      "tests/scenarios/unexpected.scn": ['scenario "a read that finds other data"', ...SETUP, 'io top "read -P 0x5a 0 4k"', ""].join("\n"),
      "tests/scenarios/expected.scn": [
        'scenario "failures that are expected"',
        ...SETUP,
        'io top "read -P 0x5a 0 4k"          -> error /^Pattern verification failed/',
        'io top/file "write 0 4k"            -> error /^Permission conflict on node/',
        'io top "frob"                       -> error "command \\"frob\\" not found"',
        'io top "read 1M 4k"                 -> error "read failed: Input/output error"',
        "",
      ].join("\n"),
    });
    mkdirSync(path.join(p.dir, "tmp"));
    process.env["TMPDIR"] = path.join(p.dir, "tmp");
  });
  afterAll(async () => {
    if (savedTmp === undefined) delete process.env["TMPDIR"];
    else process.env["TMPDIR"] = savedTmp;
    await p.remove();
  });

  it("fails a failing io without an expectation, with qemu-io's message, and writes no golden", async () => {
    for (const engine of ["qemu", "model"]) {
      const r = await invoke(["run", "--engine", engine, "--update", "unexpected"], { cwd: p.dir, env: env() });
      expect(r.code, engine).toBe(1);
      expect(r.stdout, engine).toContain("expected success, got error: Pattern verification failed at offset 0, 4096 bytes");
      expect(await p.exists("golden/unexpected.out"), engine).toBe(false);
    }
  });

  it("passes expected failures on both engines with one golden holding qemu-io's words", async () => {
    const r = await invoke(["run", "--engine", "both", "--update", "expected"], { cwd: p.dir, env: env() });
    expect(r.stdout).toMatch(/^PASS expected \(qemu\)/m);
    expect(r.stdout).toMatch(/^PASS expected \(model\)/m);
    expect(r.code).toBe(0);
    const golden = await p.read("golden/expected.out");
    expect(golden).toContain(
      [
        'io top "read -P 0x5a 0 4k"          -> error /^Pattern verification failed/',
        "  error: Pattern verification failed at offset 0, 4096 bytes",
        "  Pattern verification failed at offset 0, 4096 bytes",
        "  read 4096/4096 bytes at offset 0",
        "  4 KiB, X ops; XX:XX:XX.X (XXX YYY/sec and XXX ops/sec)",
      ].join("\n"),
    );
    expect(golden).toContain("  error: Permission conflict on node 'top/file': permissions 'write' are both required by an unnamed block device");
  });
});
