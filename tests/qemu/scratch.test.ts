import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { basename, dirname, join, relative } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createScratchArea } from "../../src/engines/qemu/scratch.js";

let workdir: string;
/** Connect to the socket named by argv[1] (relative to the cwd) and exit 0, or exit 1. */
const CONNECT = 'require("net").connect(process.argv[1]).on("connect", () => process.exit(0)).on("error", () => process.exit(1))';
afterEach(() => rmSync(workdir, { recursive: true, force: true }));

describe("createScratchArea", () => {
  it("works in place in a private (0700) scratch directory, with unique names", async () => {
    workdir = mkdtempSync(join(tmpdir(), "bc-scratch-"));
    const [a, b] = await Promise.all([createScratchArea(workdir), createScratchArea(workdir)]);
    expect(a.dir).toBe(workdir);
    expect(dirname(a.socketPath)).toBe(workdir);
    expect(dirname(a.logPath)).toBe(workdir);
    expect(a.logPath).not.toBe(b.logPath);
    writeFileSync(a.logPath, "log");
    writeFileSync(join(workdir, "image.qcow2"), "");
    await a.remove({ keep: false });
    await a.remove({ keep: false });
    await b.remove({ keep: false });
    expect(readdirSync(workdir)).toEqual(["image.qcow2"]);
  });

  it("makes its own 0700 directory when the scratch directory is not private", async () => {
    workdir = mkdtempSync(join(tmpdir(), "bc-scratch-"));
    chmodSync(workdir, 0o755);
    const area = await createScratchArea(workdir);
    expect(dirname(area.dir)).toBe(workdir);
    expect(statSync(area.dir).mode & 0o777).toBe(0o700);
    expect(dirname(area.socketPath)).toBe(area.dir);
    writeFileSync(area.logPath, "log");
    await area.remove({ keep: false });
    expect(existsSync(area.dir)).toBe(false);
  });

  it("keeps the socket in the scratch directory when its path would not fit in sun_path: QEMU names it relatively, we listen through /proc", async () => {
    workdir = mkdtempSync(join(tmpdir(), "bc-scratch-"));
    const deep = join(workdir, "x".repeat(60), "y".repeat(60));
    mkdirSync(deep, { recursive: true, mode: 0o700 });
    const area = await createScratchArea(deep);
    expect(dirname(area.socketPath)).toBe(deep);
    expect(Buffer.byteLength(area.socketPath)).toBeGreaterThan(100);
    expect(Buffer.byteLength(area.listenPath)).toBeLessThanOrEqual(100);
    expect(area.qemuSocketPath).toBe(relative(deep, area.socketPath));
    // One socket under both names: we listen on one, a process started in `deep` (as QEMU is) connects to the other.
    const server = createServer();
    const connected = new Promise<void>((resolve) => server.once("connection", (c) => (c.destroy(), resolve())));
    await new Promise<void>((resolve) => server.listen(area.listenPath, resolve));
    expect(existsSync(area.socketPath)).toBe(true);
    const client = spawnSync(process.execPath, ["-e", CONNECT, area.qemuSocketPath], { cwd: deep, timeout: 10_000 });
    expect(client.status).toBe(0);
    await connected;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    writeFileSync(area.logPath, "log");
    await area.remove({ keep: true });
    expect(existsSync(area.socketPath)).toBe(false);
    expect(existsSync(area.logPath)).toBe(true);
    expect(readdirSync(deep)).toEqual([basename(area.logPath)]);
  });
});
