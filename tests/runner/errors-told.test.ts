/**
 * Errors that say what happened: a crash or a hang names the statement and its line (not only the
 * QMP command that carried it), and the transcript shows the step; a scenario timeout shows where
 * it stopped; a QMP negotiation keeps its reason; a qemu-img killed by a signal says so; a failed
 * --update does not suggest --update; a deep scratch directory leaves no socket outside it.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { EngineCrashedError } from "../../src/engines/errors.js";
import { CapabilityCache } from "../../src/engines/qemu/capabilities.js";
import { QemuImgError, QemuStartError, QemuTimeoutError } from "../../src/engines/qemu/errors.js";
import { createImage } from "../../src/engines/qemu/images.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { runOnEngine } from "../../src/runner/run-on-engine.js";
import { createScratch, removeScratch, type Scratch } from "../../src/runner/scratch.js";
import { FakeQemu } from "../qemu/fake-qemu.js";
import { FakeEngine } from "./support/fake-engine.js";
import { blockcheck, removeKept } from "./support/main-io.js";
import { project, type Project } from "./support/project.js";
import { scenario } from "./support/scenario.js";

const scratches: Scratch[] = [];
const dirs: string[] = [];
let fake: FakeQemu;
beforeAll(() => {
  fake = new FakeQemu();
});
afterAll(() => fake.remove());
afterEach(async () => {
  await Promise.all(scratches.splice(0).map(removeScratch));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function run(text: string, engine: FakeEngine, timeoutMs = 10_000) {
  const scratch = await createScratch();
  scratches.push(scratch);
  return runOnEngine(scenario(text)[0]!, engine, scratch, { timeoutMs });
}

/** An engine whose qemu-io (human-monitor-command on qemu-system) fails as `fail` says. */
class FailingIo extends FakeEngine {
  constructor(private readonly fail: () => Error) {
    super("qemu", { io: true });
  }
  override async io(): Promise<string> {
    throw this.fail();
  }
}

const IO_SCENARIO = ['scenario "io"', "require io", "add n0: null-co", 'io n0 "write 0 64k"', "show graph", ""].join("\n");

describe("a QEMU that ends during a statement", () => {
  it("a crash during io names 'io' and its line, and the transcript shows the step", async () => {
    const crash = () =>
      new EngineCrashedError("human-monitor-command", { exitCode: undefined, signal: "SIGSEGV" }, "QEMU died during 'human-monitor-command' (killed by signal SIGSEGV)\n--- QEMU log (tail) ---\nboom");
    const r = await run(IO_SCENARIO, new FailingIo(crash));
    expect(r.transcript).toContain('io n0 "write 0 64k"\n  QEMU crashed: SIGSEGV\n(run stopped)\n');
    expect(r.failures).toEqual([
      expect.objectContaining({
        location: "tests/scenarios/t.scn:4",
        source: 'io n0 "write 0 64k"',
        message: "E_QEMU_CRASHED: QEMU died during 'io' (QMP human-monitor-command, killed by signal SIGSEGV)\n--- QEMU log (tail) ---\nboom",
      }),
    ]);
  });

  it("a hang (the call timed out, QEMU was killed) names the statement and line, and the transcript shows the step", async () => {
    const r = await run(IO_SCENARIO, new FailingIo(() => new QemuTimeoutError("human-monitor-command", 500, "")));
    expect(r.transcript).toContain('io n0 "write 0 64k"\n  QEMU hung and was killed\n(run stopped)\n');
    expect(r.failures).toEqual([
      expect.objectContaining({
        location: "tests/scenarios/t.scn:4",
        message: "E_QEMU_TIMEOUT: QEMU did not answer 'io' (QMP human-monitor-command) within 500 ms; it was killed (QEMU log is empty)",
      }),
    ]);
  });

  it("a scenario that times out shows the statement it stopped in", async () => {
    const r = await run(['scenario "slow"', "add n0: null-co", ""].join("\n"), new FakeEngine("model", { hang: true }), 300);
    expect(r.transcript).toContain("add n0: null-co\n  (timed out)\n(run stopped)\n");
    expect(r.failures).toEqual([expect.objectContaining({ kind: "timeout", location: "tests/scenarios/t.scn:2", source: "add n0: null-co" })]);
  });
});

describe("the qemu engine's own errors", () => {
  it("a failed QMP negotiation keeps its reason", async () => {
    const workdir = mkdtempSync(path.join(tmpdir(), "bc-told-"));
    dirs.push(workdir);
    const e = new QemuEngine({ binaries: { qsd: fake.binary("refuse-capabilities") }, capabilityCache: new CapabilityCache() });
    const error = await e.start({ workdir }).catch((x: unknown) => x);
    await e.stop();
    expect(error).toBeInstanceOf(QemuStartError);
    expect((error as Error).message).toMatch(/^QMP negotiation failed: QMP protocol error: qmp_capabilities failed: .*capabilities refused/);
  });

  it("a qemu-img killed by a signal says so", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "bc-told-"));
    dirs.push(dir);
    const img = path.join(dir, "qemu-img");
    writeFileSync(img, "#!/bin/sh\nkill -SEGV $$\n");
    chmodSync(img, 0o755);
    // With a backing file: plain images are written in-process, this one is qemu-img's (engines/qemu/images.ts).
    const spec = { path: "a.qcow2", format: "qcow2", size: 65536, backingFile: "b.qcow2", backingFormat: "qcow2" } as const;
    const error = await createImage(spec, { binary: img, workdir: dir, timeoutMs: 10_000 }).catch(
      (x: unknown) => x,
    );
    expect(error).toBeInstanceOf(QemuImgError);
    expect((error as Error).message).toMatch(/\nkilled by signal SIGSEGV$/);
  });

  it("a scratch directory too deep for a socket path keeps the socket in it: QEMU is given a relative path", async () => {
    const root = mkdtempSync(path.join(tmpdir(), "bc-told-"));
    dirs.push(root);
    const workdir = path.join(root, "t".repeat(90));
    mkdirSync(workdir, { mode: 0o700 });
    const e = new QemuEngine({ binaries: { qsd: fake.binary("ok") }, capabilityCache: new CapabilityCache() });
    await e.start({ workdir });
    const log = readFileSync(e.logPath!, "utf8");
    await e.stop();
    const chardev = /fake-qemu: chardev (.*)/.exec(log)?.[1] ?? "";
    expect(chardev).toMatch(/^socket,id=mon0,path=\.qemu-[0-9a-f]+\.sock,server=off$/);
  });
});

describe("--update that cannot write", () => {
  let p: Project;
  afterEach(async () => {
    await p?.remove();
  });

  it("does not suggest --update again, and says why", async () => {
    p = await project({ "tests/scenarios/f.scn": ['scenario "fails"', "add n0: null-co", "expect ro n0", ""].join("\n") });
    const r = await blockcheck(["run", "--update"], { cwd: p.dir });
    await removeKept(r.stdout);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("golden file golden/f.out is missing, and --update did not create it: the run failed its own expectations");
    expect(r.stdout).not.toContain("run --update tests/scenarios/f.scn");
  });
});
