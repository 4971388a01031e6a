/**
 * On real QEMU 7.2.22: the first case of seed 13 makes qemu-storage-daemon segfault in a reopen
 * transaction that moves a throttle node's file away from its named inline child while also
 * listing that child (docs/fuzz.md, crash class 2). `fuzz --engine both` must reach it, shrink it
 * to a handful of statements, and write a scenario that passes on the model and still crashes QEMU.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createEngine } from "../../src/engines/factory/create.js";
import { runFuzz } from "../../src/fuzz/fuzz-run.js";
import { describeWithQemu } from "../support/qemu.js";

/** A seed whose case 0 crashes QEMU (found with `blockcheck fuzz --engine both`). */
const SEED = 13;

describeWithQemu("fuzz on real QEMU", () => {
  let out: string;
  beforeAll(async () => {
    out = await mkdtemp(path.join(os.tmpdir(), "bc-fuzz-qemu-"));
  });
  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it(`reaches and shrinks a QEMU crash from seed ${SEED}`, { timeout: 60_000 }, async () => {
    const summary = await runFuzz({
      engines: ["model", "qemu"],
      seed: SEED,
      count: 1,
      jobs: 2,
      outDir: out,
      timeoutMs: 20_000,
      shrinkBudget: 150,
      makeEngine: (kind) => createEngine(kind, { qemu: { keepScratch: true } }),
      command: `blockcheck fuzz --engine both --seed ${SEED} --count 1`,
    });
    expect(summary.findings).toHaveLength(1);
    const [f] = summary.findings;
    expect(f!.cls).toBe("qemu-crash");
    expect(f!.crash).toMatchObject({ signal: "SIGSEGV", command: "blockdev-reopen" });
    expect(f!.shrunk!.to).toBeLessThanOrEqual(6);
    expect(f!.written).toMatchObject({ reference: "model", passesOnReference: true, reproduces: true });
    const scn = await readFile(f!.written!.scn, "utf8");
    expect(scn).toMatch(/^tags fuzz qemu-crash$/m);
    expect(scn).toMatch(/^reopen \{$/m);
  });
});
