/**
 * No QEMU outlives the Node process: on SIGINT/SIGTERM the reaper kills live QEMUs and the signal still
 * ends the process; after stop() nothing keeps the event loop alive. Uses the fake QEMU that ignores
 * quit, SIGTERM and SIGINT, so only a SIGKILL from us can end it.
 */
import { execa } from "execa";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alive, FakeQemu, goneWithin } from "./fake-qemu.js";

const child = fileURLToPath(new URL("./fixtures/engine-child.mts", import.meta.url));
let fake: FakeQemu;
let workdir: string;

beforeAll(() => {
  fake = new FakeQemu();
  workdir = mkdtempSync(join(tmpdir(), "bc-qemu-test-"));
});
afterAll(() => {
  fake.remove();
  rmSync(workdir, { recursive: true, force: true });
});

function runChild(then: "wait" | "stop" | "handler") {
  return execa(process.execPath, ["--import", "tsx", child, fake.binary("ignore-quit"), workdir, then], {
    reject: false,
    timeout: 20_000,
    lines: true,
  });
}

function firstLine(subprocess: ReturnType<typeof runChild>): Promise<{ pid: number }> {
  return new Promise((resolve, reject) => {
    let text = "";
    subprocess.stdout.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes("\n")) resolve(JSON.parse(text.split("\n")[0]!) as { pid: number });
    });
    void subprocess.then(() => reject(new Error(`child ended before printing its pid: ${text}`)));
  });
}

describe("signals and process lifetime", () => {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`${signal}: QEMU is killed and the signal still ends the process`, async () => {
      const subprocess = runChild("wait");
      const { pid } = await firstLine(subprocess);
      expect(alive(pid)).toBe(true);
      subprocess.kill(signal);
      const result = await subprocess;
      expect({ signal: result.signal, stderr: result.stderr }).toMatchObject({ signal });
      expect(await goneWithin(pid, 2_000)).toBe(true);
    });
  }

  it("an application's own signal handler still decides, after QEMU is killed", async () => {
    const subprocess = runChild("handler");
    const { pid } = await firstLine(subprocess);
    subprocess.kill("SIGINT");
    const result = await subprocess;
    expect({ exitCode: result.exitCode, signal: result.signal }).toEqual({ exitCode: 7, signal: undefined });
    expect(await goneWithin(pid, 2_000)).toBe(true);
  });

  it("after stop() the process exits on its own: no handler, socket or timer keeps it alive", async () => {
    const result = await runChild("stop");
    expect(result.timedOut).toBe(false);
    expect(result.exitCode).toBe(0);
    const { pid } = JSON.parse(String(result.stdout[0])) as { pid: number };
    expect(alive(pid)).toBe(false);
  });
});
