/**
 * Nothing outlives a run and nothing is left behind, however it ends: SIGKILL of `blockcheck run -j 8`
 * (QEMU dies with it: parent-death signal) and of `blockcheck qmp`; SIGINT and SIGTERM (scratch
 * directories removed); a hung qemu-img (killed at the scenario timeout); and the scratch
 * directories of a killed run are swept by the next one. Uses the fake QEMU, which hangs on demand.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { findSetpriv, launcher, parentDeathWarning } from "../../src/engines/qemu/die-with-parent.js";
import { alive, FakeQemu, goneWithin } from "../qemu/fake-qemu.js";
import { invoke } from "./support/cli.js";
import { processes, startCli, waitFor } from "./support/cli-process.js";

let dir: string;
let tmp: string;
let fake: FakeQemu;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "bc-life-"));
  tmp = path.join(dir, "tmp");
  await mkdir(tmp);
  await mkdir(path.join(dir, "tests/scenarios"), { recursive: true });
  for (let i = 1; i <= 8; i++) await writeFile(path.join(dir, `tests/scenarios/h${i}.scn`), `scenario "h${i}"\nqmp x-hang {} -> error "never answers"\n`);
  fake = new FakeQemu();
});
afterEach(async () => {
  fake.remove();
  await rm(dir, { recursive: true, force: true });
});

/** Fake QEMUs of this test: their monitor socket is under its TMPDIR. */
const fakes = () => processes().filter((p) => p.cmdline.includes("fake-qemu.mjs") && p.cmdline.includes(tmp));
const scratchDirs = async () => (await readdir(tmp)).filter((n) => n.startsWith("blockcheck-"));

describe("process lifetime", () => {
  it("SIGKILL of `run --engine qemu -j 8` leaves no QEMU; the next run sweeps its scratch directories", async () => {
    // Eight scenarios at -j 8: all eight QEMUs start at once (the first itself, the rest ahead), none more.
    const run = startCli(["run", "--engine", "qemu", "-j", "8"], { cwd: dir, env: { QSD_PROG: fake.binary("hang"), TMPDIR: tmp } });
    expect(await waitFor(() => fakes().length === 8, 30_000)).toBe(true);
    expect(fakes().every((p) => p.ppid === run.pid)).toBe(true);
    run.kill("SIGKILL");
    expect((await run).signal).toBe("SIGKILL");
    expect(await waitFor(() => fakes().length === 0, 2_000)).toBe(true);
    expect(await scratchDirs()).toHaveLength(8);

    await writeFile(path.join(dir, "tests/scenarios/ok.scn"), 'scenario "ok"\nadd n0: null-co\n');
    const next = await startCli(["run", "--update", "tests/scenarios/ok.scn"], { cwd: dir, env: { TMPDIR: tmp } });
    expect(next.exitCode).toBe(0);
    expect(await scratchDirs()).toEqual([]);
  });

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`${signal} of a run ends it by that signal, with no QEMU and no scratch directory left`, async () => {
      // With --fresh-qemu the pool cannot count on the running QEMUs coming back (runner/warm-pool.ts):
      // two scenarios run and the next two's QEMUs are started ahead, each in its scratch directory.
      const run = startCli(["run", "--engine", "qemu", "-j", "2", "--fresh-qemu"], { cwd: dir, env: { QSD_PROG: fake.binary("hang"), TMPDIR: tmp } });
      expect(await waitFor(() => fakes().length === 4, 30_000)).toBe(true);
      expect(await scratchDirs()).toHaveLength(4);
      run.kill(signal);
      expect((await run).signal).toBe(signal);
      expect(await waitFor(() => fakes().length === 0, 2_000)).toBe(true);
      expect(await scratchDirs()).toEqual([]);
    });
  }

  it("SIGKILL of `qmp --engine qemu` leaves no QEMU", async () => {
    const qmp = startCli(["qmp", "--engine", "qemu"], { cwd: dir, env: { QSD_PROG: fake.binary("ok"), TMPDIR: tmp } });
    expect(await waitFor(() => fakes().length === 1, 30_000)).toBe(true);
    qmp.kill("SIGKILL");
    await qmp;
    expect(await waitFor(() => fakes().length === 0, 2_000)).toBe(true);
  });

  it("a hung qemu-img is killed at the scenario timeout", async () => {
    const pidFile = path.join(dir, "qemu-img.pid");
    const img = path.join(fake.dir, "hung-qemu-img");
    await writeFile(img, `#!/bin/sh\necho $$ > "${pidFile}"\nexec sleep 600\n`, { mode: 0o755 });
    // With a backing file: plain images are written in-process, this one is qemu-img's (engines/qemu/images.ts).
    await writeFile(path.join(dir, "tests/scenarios/img.scn"), 'scenario "img"\nimage a.qcow2 qcow2 1M backing=b.qcow2\n');
    const r = await invoke(["run", "--engine", "qemu", "--timeout", "1", "tests/scenarios/img.scn"], {
      cwd: dir,
      env: { QSD_PROG: fake.binary("ok"), QEMU_IMG_PROG: img },
    });
    expect(r.stdout).toContain("timed out after 1s");
    const pid = Number(await readFile(pidFile, "utf8"));
    expect(alive(pid) === false || (await goneWithin(pid, 2_000))).toBe(true);
    for (const line of r.stdout.split("\n").filter((l) => l.includes("scratch directory kept: "))) {
      await rm(line.split("kept: ")[1]!, { recursive: true, force: true });
    }
  });

  it("starts QEMU through setpriv when it is there, directly (with a warning) when not", () => {
    const setpriv = findSetpriv();
    expect(setpriv, "setpriv (util-linux) is part of Debian's base system").toBeDefined();
    expect(launcher("qemu-img", ["info", "x"], setpriv)).toEqual({
      file: setpriv,
      args: ["--pdeathsig", "KILL", "--", "qemu-img", "info", "x"],
      viaSetpriv: true,
    });
    const nowhere = path.join(dir, "nowhere");
    expect(findSetpriv(nowhere)).toBeUndefined();
    expect(launcher("qemu-img", ["info"], undefined)).toEqual({ file: "qemu-img", args: ["info"], viaSetpriv: false });
    expect(parentDeathWarning()).toBeUndefined();
    expect(parentDeathWarning(nowhere)).toMatch(/setpriv .* not found on PATH: if blockcheck is killed with SIGKILL, its QEMU processes will outlive it/);
  });

  it("without setpriv, a qemu run says what that costs and QEMU still starts", async () => {
    await writeFile(path.join(dir, "tests/scenarios/empty.scn"), 'scenario "empty"\n');
    const r = await startCli(["run", "--engine", "qemu", "--update", "tests/scenarios/empty.scn"], {
      cwd: dir,
      env: { QSD_PROG: fake.binary("ok"), TMPDIR: tmp, PATH: path.join(dir, "nowhere") },
    });
    expect(r.stderr).toContain("blockcheck run: warning: setpriv (util-linux) with --pdeathsig not found on PATH");
    expect(r.stdout).toMatch(/^PASS empty \(qemu\)/m);
  });

  it("--keep-scratch keeps what it promises: the images, the QMP log and QEMU's own output", async () => {
    const img = path.join(fake.dir, "fake-qemu-img");
    // `qemu-img create -q -f FMT PATH SIZE`: make the file.
    await writeFile(img, '#!/bin/sh\n: > "$5"\n', { mode: 0o755 });
    await writeFile(path.join(dir, "tests/scenarios/keep.scn"), 'scenario "keep"\nimage a.raw raw 1M\nqmp query-status {}\n');
    const r = await startCli(["run", "--engine", "qemu", "--keep-scratch", "--update", "tests/scenarios/keep.scn"], {
      cwd: dir,
      env: { QSD_PROG: fake.binary("ok"), QEMU_IMG_PROG: img, TMPDIR: tmp },
    });
    expect(r.stdout).toMatch(/^PASS keep \(qemu\)/m);
    const [kept, ...others] = await scratchDirs();
    expect(others).toEqual([]);
    const files = (await readdir(path.join(tmp, kept!))).sort();
    expect(files).toEqual([expect.stringMatching(/^\.qemu-[0-9a-f]{8}\.log$/), ".qmp.log", "a.raw"]);
    expect(await readFile(path.join(tmp, kept!, files[0]!), "utf8")).toContain("fake-qemu: mode ok");
    expect(await readFile(path.join(tmp, kept!, ".qmp.log"), "utf8")).toContain('-> {"execute":"query-status","arguments":{}}\n<- {"return":{}}\n');
  });
});
