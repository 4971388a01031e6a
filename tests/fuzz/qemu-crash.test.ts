/**
 * On real QEMU 7.2.22, two first cases of `fuzz --engine both`:
 * - seed 88: qemu-storage-daemon segfaults at quit after a failed reopen left an auto-named qcow2's
 *   s->data_file pointing at a freed edge and a new edge was made since. The model foresees that
 *   crash now; a model that forgets crashes at quit stands in for one that does not, so that the
 *   fuzzer is shown to reach a crash it does not foresee, shrink it to a handful of statements,
 *   and write a scenario that passes on the model and still crashes QEMU. The real model calls
 *   the same case a known crash.
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

/** A seed whose case 0 crashes QEMU at quit (the model foresees it; ForgetfulModel does not). */
const SEED = 88;

/** The model as it was before it foresaw crashes at quit: every run it ends, it ends clean. */
class ForgetfulModel extends ModelEngine {
  override async stop(): Promise<EngineStopOutcome> {
    const outcome = await super.stop();
    return outcome.kind === "crashed" ? { kind: "clean" } : outcome;
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

  it.each([
    [KNOWN_SEED, /^SIGSEGV in blockdev-reopen/],
    [SEED, /^SIGSEGV in quit/],
  ])("calls the QEMU crash of seed %i known: the model crashes there too", { timeout: 60_000 }, async (seed, signature) => {
    const known: string[] = [];
    const summary = await firstCase(seed, { onKnownCrash: (k) => known.push(k.signature) });
    expect(summary.findings).toEqual([]);
    expect(known).toHaveLength(1);
    expect(known[0]).toMatch(signature);
    expect(summary.known).toEqual([{ signature: known[0], count: 1 }]);
  });
});
