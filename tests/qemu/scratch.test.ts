import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createScratchArea } from "../../src/engines/qemu/scratch.js";

let workdir: string;
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

  it("moves only the socket to a private temp dir when the path would not fit in sun_path", async () => {
    workdir = mkdtempSync(join(tmpdir(), "bc-scratch-"));
    const deep = join(workdir, "x".repeat(60), "y".repeat(60));
    mkdirSync(deep, { recursive: true, mode: 0o700 });
    const area = await createScratchArea(deep);
    expect(Buffer.byteLength(area.socketPath)).toBeLessThanOrEqual(100);
    expect(statSync(dirname(area.socketPath)).mode & 0o777).toBe(0o700);
    expect(dirname(area.logPath)).toBe(deep);
    writeFileSync(area.logPath, "log");
    await area.remove({ keep: true });
    expect(existsSync(dirname(area.socketPath))).toBe(false);
    expect(existsSync(area.logPath)).toBe(true);
  });
});
