/**
 * Debugging a run, through the CLI: `-d/--trace` shows every QMP command (the full blockdev-reopen
 * options above all) and reply, images and qemu-io, step by step, on both engines; a failed run
 * keeps its scratch directory with the QMP log and QEMU's output and names them; a QEMU that
 * cannot be run stops the run once, before it starts, with exit 2 and the reason.
 */
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { FakeQemu } from "../qemu/fake-qemu.js";
import { describeWithQemu } from "../support/qemu.js";
import { startCli } from "./support/cli-process.js";
import { blockcheck, removeKept } from "./support/main-io.js";
import { project, type Project } from "./support/project.js";

const REOPEN = [
  'scenario "reopen"',
  "image top.qcow2 qcow2 1M",
  "add top: qcow2 file=(file filename=top.qcow2)",
  "reopen top read-only=on",
  "",
].join("\n");

let p: Project;
let fake: FakeQemu;
beforeAll(() => {
  fake = new FakeQemu();
});
afterAll(() => fake.remove());
beforeEach(async () => {
  p = await project({ "tests/scenarios/reopen.scn": REOPEN });
});
afterEach(async () => {
  await p.remove();
});

const cli = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
  const r = await blockcheck(args, { cwd: p.dir, env });
  await removeKept(r.stdout);
  return r;
};

/** The trace lines of one run, without their `[id] ` prefix. */
const traceOf = (stderr: string, id: string) =>
  stderr
    .split("\n")
    .filter((l) => l.startsWith(`[${id}] `))
    .map((l) => l.slice(id.length + 3));

describe("--trace", () => {
  it("prints each step, then every engine call and reply, with the full blockdev-reopen options (model)", async () => {
    const quiet = await cli(["run", "--update"]);
    expect(quiet.stderr).toBe("");
    const r = await cli(["run", "-d"]);
    expect(r.code).toBe(0);
    const lines = traceOf(r.stderr, "reopen (model)");
    expect(lines[0]).toBe("  -> start model");
    expect(lines).toContain("tests/scenarios/reopen.scn:4: reopen top read-only=on");
    const step = lines.indexOf("tests/scenarios/reopen.scn:4: reopen top read-only=on");
    const reopen = JSON.parse(lines[step + 1]!.replace(/^ {2}-> /, ""));
    expect(reopen).toEqual({
      execute: "blockdev-reopen",
      arguments: {
        options: [
          {
            driver: "qcow2",
            "node-name": "top",
            file: { driver: "file", filename: expect.stringMatching(/\/top\.qcow2$/) },
            "read-only": true,
          },
        ],
      },
    });
    expect(lines[step + 2]).toBe('  <- {"return":{}}');
    expect(lines).toContain('  -> image {"path":"top.qcow2","format":"qcow2","size":1048576}');
    expect(lines[lines.length - 1]).toBe('  <- {"kind":"clean"}');
  });

  it("is the same on the qemu engine (fake QEMU)", async () => {
    await p.write("tests/scenarios/reopen.scn", 'scenario "q"\nqmp query-status\n');
    const r = await cli(["run", "--engine", "qemu", "--update", "--trace"], { QSD_PROG: fake.binary("ok") });
    expect(r.code).toBe(0);
    expect(traceOf(r.stderr, "reopen (qemu)")).toEqual([
      "  -> start qemu",
      "  <- started",
      "tests/scenarios/reopen.scn:2: qmp query-status",
      '  -> {"execute":"query-status"}',
      '  <- {"return":{}}',
      "  -> stop",
      '  <- {"kind":"clean"}',
    ]);
  });
});

describeWithQemu("--trace on real QEMU", () => {
  it("shows the blockdev-reopen options the runner builds and qemu-io's traffic", async () => {
    await p.write("tests/scenarios/io.scn", 'scenario "io"\nrequire io\nadd n0: null-co\nio n0 "write -P 0xa5 0 64k"\n');
    const r = await cli(["run", "--engine", "qemu", "--update", "--trace"], { ...process.env, CI: "" });
    expect(r.code).toBe(0);
    const reopen = traceOf(r.stderr, "reopen (qemu)");
    expect(reopen.find((l) => l.includes('"execute":"blockdev-reopen"'))).toContain('"read-only":true');
    const io = traceOf(r.stderr, "io (qemu)");
    expect(io).toContain('  -> start qemu (features: io)');
    expect(io).toContain('  -> qemu-io n0 "write -P 0xa5 0 64k"');
    expect(io.find((l) => l.startsWith("  <- \"wrote 65536/65536 bytes"))).toBeDefined();
  });
});

describe("a failed run on QEMU", () => {
  it("keeps its scratch directory with the QMP log and QEMU's output, names them, and removes passing runs' scratch", async () => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), "bc-debug-tmp-"));
    try {
      await p.write("tests/scenarios/reopen.scn", 'scenario "ok"\nqmp query-status\n');
      await p.write("tests/scenarios/crash.scn", 'scenario "crash"\nqmp blockdev-reopen {"options": []}\n');
      const r = await startCli(["run", "--engine", "qemu", "--update"], { cwd: p.dir, env: { QSD_PROG: fake.binary("ok"), TMPDIR: tmp } });
      expect(r.exitCode).toBe(1);
      expect(r.stdout).toMatch(/^PASS reopen \(qemu\)/m);
      const kept = (await readdir(tmp)).filter((n) => n.startsWith("blockcheck-"));
      expect(kept).toHaveLength(1);
      const dir = path.join(tmp, kept[0]!);
      expect(r.stdout).toContain(`scratch directory kept: ${dir}`);
      expect(r.stdout).toContain(`QMP log: ${dir}/.qmp.log`);
      const qemuLog = /QEMU's output: (\S+)/.exec(r.stdout)?.[1];
      expect(qemuLog).toMatch(new RegExp(`^${dir}/\\.qemu-[0-9a-f]+\\.log$`));
      expect(await readFile(qemuLog!, "utf8")).toContain("Assertion `bs_queue != NULL' failed");
      expect(await readFile(path.join(dir, ".qmp.log"), "utf8")).toContain('-> {"execute":"blockdev-reopen","arguments":{"options":[]}}');
      expect(await p.exists("golden/crash.out")).toBe(false);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});

describe("a QEMU that cannot be run", () => {
  it("a *_PROG naming nothing stops the run before it starts: exit 2, the reason once, no scenario run", async () => {
    await p.write("tests/scenarios/other.scn", 'scenario "other"\nqmp query-status\n');
    const r = await cli(["run", "--engine", "qemu", "-j", "2"], { QSD_PROG: "/nowhere/qemu-storage-daemon" });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      [
        "blockcheck run: error: the qemu engine cannot run:",
        "  QSD_PROG=/nowhere/qemu-storage-daemon: no such file",
        "install QEMU 7.2 (Debian: apt-get install qemu-system-common qemu-system-x86 qemu-utils), or point",
        'QSD_PROG, QEMU_PROG, QEMU_IMG_PROG and QEMU_IO_PROG (or "binaries" in blockcheck.config.json) at its binaries',
        "",
      ].join("\n"),
    );
  });

  it("checks every binary named, and the default ones the scenarios need on PATH", async () => {
    const notExecutable = p.file("qemu-img");
    await writeFile(notExecutable, "#!/bin/sh\n");
    await chmod(notExecutable, 0o644);
    const r = await cli(["run", "--engine", "qemu"], {
      PATH: "/nowhere",
      QEMU_IMG_PROG: "qemu-img-not-here",
      QEMU_IO_PROG: "./qemu-img",
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("\n  qemu-storage-daemon (QSD_PROG is not set): not found on PATH\n");
    expect(r.stderr).toContain("\n  QEMU_IMG_PROG=qemu-img-not-here: not found on PATH\n");
    expect(r.stderr).toContain(`\n  QEMU_IO_PROG=./qemu-img: is not executable\n`);
    // qemu-system is needed only for io: a missing one does not matter here.
    expect(r.stderr).not.toMatch(/^ {2}(qemu-system|QEMU_PROG)/m);
  });

  it("one that exists but cannot be started still stops the run once (exit 2), found by the first scenario", async () => {
    const broken = p.file("qsd");
    await writeFile(broken, "#!/nonexistent/interpreter\n", { mode: 0o755 });
    await p.write("tests/scenarios/other.scn", 'scenario "other"\nqmp query-status\n');
    await p.write("tests/scenarios/third.scn", 'scenario "third"\nqmp query-status\n');
    const r = await cli(["run", "--engine", "qemu", "-j", "2"], { QSD_PROG: broken });
    expect(r.code).toBe(2);
    expect(r.stderr.match(/the qemu engine cannot run:/g)).toHaveLength(1);
    expect(r.stderr).toContain(`cannot run '${broken}' (set QSD_PROG or fix PATH)`);
    expect(r.stdout).not.toMatch(/^FAIL/m);
  });
});
