/**
 * On real QEMU 7.2.22, two first cases of `fuzz --engine both`:
 * - seed 88: qemu-storage-daemon segfaults at quit after a failed reopen left an auto-named qcow2's
 *   s->data_file pointing at a freed edge and a new edge was made since. How QEMU ends there varies
 *   from run to run, and the model says it cannot tell, which the fuzzer takes as no finding; a
 *   model that says every run ends clean stands in for one that does not foresee the crash, so
 *   that the fuzzer is shown to reach it, shrink it to a handful of statements, and write a
 *   scenario that passes on the model and still crashes QEMU.
 * - seed 13: a reopen list moves a throttle node's file away from its named inline child while
 *   also listing that child (docs/fuzz.md, crash class 2). The model crashes there too now, so it
 *   is a known crash, reported as one and not as a finding.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { EngineKind, EngineStopOutcome } from "../../src/engines/engine.js";
import { createEngine } from "../../src/engines/factory/create.js";
import { ModelEngine } from "../../src/engines/model/model-engine.js";
import { type FuzzRunOptions, runFuzz } from "../../src/fuzz/fuzz-run.js";
import { describeWithQemu } from "../support/qemu.js";

/** A seed whose case 0 crashes QEMU at quit (where the model cannot tell; ForgetfulModel says clean). */
const SEED = 88;

/** A model that does not foresee how QEMU ends: every run it ends, it ends clean. */
class ForgetfulModel extends ModelEngine {
  override async stop(): Promise<EngineStopOutcome> {
    await super.stop();
    return { kind: "clean" };
  }
}
/** A seed whose case 0 crashes QEMU where the model crashes too. */
const KNOWN_SEED = 13;

describeWithQemu("fuzz on real QEMU", () => {
  let out: string;
  beforeAll(async () => {
    out = await mkdtemp(path.join(os.tmpdir(), "bc-fuzz-qemu-"));
  });
  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });

  /** `fuzz --engine both --seed SEED --count 1`. */
  const firstCase = (seed: number, extra: Pick<FuzzRunOptions, "onKnownCrash"> & { shrinkBudget?: number; forgetful?: boolean }) =>
    runFuzz({
      engines: ["model", "qemu"],
      seed,
      count: 1,
      jobs: 2,
      outDir: out,
      timeoutMs: 20_000,
      makeEngine: (kind: EngineKind) => (kind === "model" && extra.forgetful ? new ForgetfulModel() : createEngine(kind, { qemu: { keepScratch: true } })),
      command: `blockcheck fuzz --engine both --seed ${seed} --count 1`,
      shrinkBudget: extra.shrinkBudget ?? 300,
      ...(extra.onKnownCrash ? { onKnownCrash: extra.onKnownCrash } : {}),
    });

  it(`reaches and shrinks a QEMU crash from seed ${SEED}`, { timeout: 60_000 }, async () => {
    const summary = await firstCase(SEED, { shrinkBudget: 150, forgetful: true });
    expect(summary.findings).toHaveLength(1);
    const [f] = summary.findings;
    expect(f!.cls).toBe("qemu-crash");
    expect(f!.crash).toMatchObject({ signal: "SIGSEGV", command: "quit" });
    expect(f!.shrunk!.to).toBeLessThanOrEqual(6);
    expect(f!.written).toMatchObject({ reference: "model", passesOnReference: true, reproduces: true });
    const scn = await readFile(f!.written!.scn, "utf8");
    expect(scn).toMatch(/^tags fuzz qemu-crash$/m);
    expect(scn).toMatch(/^reopen .* -> error "Cannot change the option 'node-name'"$/m);
  });

  it(`calls the QEMU crash of seed ${KNOWN_SEED} known: the model crashes there too`, { timeout: 60_000 }, async () => {
    const known: string[] = [];
    const summary = await firstCase(KNOWN_SEED, { onKnownCrash: (k) => known.push(k.signature) });
    expect(summary.findings).toEqual([]);
    expect(known).toHaveLength(1);
    expect(known[0]).toMatch(/^SIGSEGV in blockdev-reopen/);
    expect(summary.known).toEqual([{ signature: known[0], count: 1 }]);
  });

  it(`finds nothing in seed ${SEED}'s case, where the model cannot tell how QEMU ends`, { timeout: 60_000 }, async () => {
    const known: string[] = [];
    const summary = await firstCase(SEED, { onKnownCrash: (k) => known.push(k.signature) });
    expect(summary.findings).toEqual([]);
    expect(known).toEqual([]);
    expect(summary.cases).toBe(1);
  });
});
