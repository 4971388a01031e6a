/**
 * The two ways a request through blkverify ends QEMU 7.2, on real QEMU and on the model: children
 * that read differently make it print the mismatch and exit(1) (blkverify_err); a zero write trips
 * bdrv_co_do_pwrite_zeroes' assertion (blkverify claims zero flags without a zero-write hook).
 * A crash is no scenario outcome, so this runs the same steps on both engines and compares how they end.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import type { Engine, EngineStopOutcome } from "../../src/engines/engine.js";
import { EngineCrashedError } from "../../src/engines/errors.js";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { QemuEngine } from "../../src/engines/qemu/qemu-engine.js";
import { describeWithQemu } from "../support/qemu.js";

/** Two 64 KiB raw files that differ at byte 0, under blkverify node `bv`; then `command` on it. */
async function endOf(engine: Engine, command: string): Promise<{ outcome: EngineStopOutcome; crashed: boolean }> {
  const workdir = mkdtempSync(join(tmpdir(), "bc-blkverify-end-"));
  try {
    await engine.start({ workdir, features: new Set(["io"]) });
    // Raw images are their bytes: the test file's first byte differs.
    writeFileSync(join(workdir, "r.raw"), Buffer.alloc(64 << 10));
    writeFileSync(join(workdir, "t.raw"), Buffer.concat([Buffer.from([0x44]), Buffer.alloc((64 << 10) - 1)]));
    const add = await engine.qmp("blockdev-add", {
      driver: "blkverify",
      "node-name": "bv",
      raw: { driver: "file", filename: join(workdir, "r.raw") },
      test: { driver: "file", filename: join(workdir, "t.raw") },
    });
    expect(add).toEqual({ return: {} });
    expect(await engine.io!("bv", "read -P 0 8k 4k")).toMatch(/^read 4096\/4096/);
    let crashed = false;
    try {
      await engine.io!("bv", command);
    } catch (e) {
      if (!(e instanceof EngineCrashedError)) throw e;
      crashed = true;
    }
    return { outcome: await engine.stop(), crashed };
  } finally {
    await engine.stop();
    rmSync(workdir, { recursive: true, force: true });
  }
}

describeWithQemu("blkverify ends QEMU 7.2 on both engines", () => {
  it("a read whose children differ: exit code 1", { timeout: 30_000 }, async () => {
    for (const engine of [new QemuEngine(), new ModelEngine()]) {
      const end = await endOf(engine, "read 0 4k");
      expect(end.crashed).toBe(true);
      expect(end.outcome).toMatchObject({ kind: "crashed", exit: { exitCode: 1 } });
      // Both print blkverify_err's line.
      expect(end.outcome.kind === "crashed" && end.outcome.logTail).toMatch(/blkverify: read offset=0 bytes=4096 contents mismatch at offset 0/);
    }
  });

  it("a zero write: the assertion in bdrv_co_do_pwrite_zeroes", { timeout: 30_000 }, async () => {
    for (const engine of [new QemuEngine(), new ModelEngine()]) {
      const end = await endOf(engine, "write -z 8k 4k");
      expect(end.crashed).toBe(true);
      expect(end.outcome).toMatchObject({ kind: "crashed", exit: { signal: "SIGABRT" } });
      expect(end.outcome.kind === "crashed" && end.outcome.logTail).toMatch(/bdrv_co_do_pwrite_zeroes: Assertion `!bs->supported_zero_flags' failed\./);
    }
  });
});
