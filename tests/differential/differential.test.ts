/**
 * Seeded differential test: random command sequences run on real qemu-storage-daemon (which the
 * generator follows) and are replayed on the model; normalized replies must be identical, and then
 * the reply JSON too, byte for byte apart from auto-name digits. Sequences with qemu-io commands run
 * on qemu-system instead (the daemon has no HMP), their output compared as text; after every
 * sequence the image files both engines leave must be identical byte for byte (image-files.ts). A
 * QEMU crash is a finding and fails the test too. Set BLOCKCHECK_SEED to explore other sequences.
 */
import { afterAll, expect, it } from "vitest";
import { createEngine } from "../../src/engines/factory/create.js";
import { describeWithQemu } from "../support/qemu.js";
import { addFigures, emptyFigures, failureSignature, formatFailure, formatFigures } from "./differential-report.js";
import { addIothreadFigures, emptyIothreadFigures, formatIothreadFigures } from "./iothread-figures.js";
import { qemuEngine } from "./engines.js";
import { addIoFigures, emptyIoFigures, formatIoFigures } from "./io-figures.js";
import { addDriverFigures, emptyDriverFigures, formatDriverFigures } from "./driver-figures.js";
import { sequenceSeed } from "../../src/fuzz/prng.js";
import { runCase, shrink, type CaseOutcome, type EngineFactories } from "./run-differential.js";

const BASE_SEED = Number(process.env.BLOCKCHECK_SEED ?? 20260728);
const SEQUENCES = 300;
const CHUNK = 50;
const PARALLEL = 4;
/** Failures shown in full (shrunk); the rest are listed by signature. */
const DETAILED = 3;

const factories: EngineFactories = { qemu: qemuEngine, model: () => createEngine("model") };

async function runSeeds(seeds: number[]): Promise<CaseOutcome[]> {
  const out: CaseOutcome[] = [];
  let next = 0;
  const worker = async () => {
    while (next < seeds.length) out.push(await runCase(seeds[next++]!, factories));
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  return out.sort((a, b) => a.seed - b.seed);
}

describeWithQemu("model vs qemu-storage-daemon on random sequences", () => {
  const figures = emptyFigures();
  const ioFigures = emptyIoFigures();
  const driverFigures = emptyDriverFigures();
  const iothreadFigures = emptyIothreadFigures();

  afterAll(() => {
    console.log(`differential (base seed ${BASE_SEED}): ${formatFigures(figures)}`);
    console.log(`differential (base seed ${BASE_SEED}) ${formatIoFigures(ioFigures)}`);
    console.log(`differential (base seed ${BASE_SEED}) ${formatDriverFigures(driverFigures)}`);
    console.log(`differential (base seed ${BASE_SEED}) ${formatIothreadFigures(iothreadFigures)}`);
  });

  for (let start = 0; start < SEQUENCES; start += CHUNK) {
    it(`sequences ${start + 1}-${start + CHUNK} agree`, { timeout: 300_000 }, async () => {
      const seeds = Array.from({ length: CHUNK }, (_, i) => sequenceSeed(BASE_SEED, start + i));
      const outcomes = await runSeeds(seeds);
      outcomes.forEach((o) => addFigures(figures, o));
      outcomes.forEach((o) => addIoFigures(ioFigures, o));
      outcomes.forEach((o) => addDriverFigures(driverFigures, o));
      outcomes.forEach((o) => addIothreadFigures(iothreadFigures, o));
      const failed = outcomes.filter((o) => o.difference || o.modelError || o.qemuCrash);
      const reports: string[] = [];
      for (const o of failed.slice(0, DETAILED)) reports.push(formatFailure(o, o.qemuCrash ? undefined : await shrink(o, factories)));
      const signatures = [...new Set(failed.map(failureSignature))];
      const summary = failed.length === 0 ? "" : `${failed.length} of ${outcomes.length} sequences disagree (base seed ${BASE_SEED}); distinct first differences:\n${signatures.map((s) => `  ${s}`).join("\n")}\n\n${reports.join("\n\n")}`;
      expect(outcomes).toHaveLength(CHUNK);
      if (failed.length > 0) expect.fail(summary);
    });
  }
});
