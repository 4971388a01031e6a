/**
 * One differential case: generate a sequence on real QEMU from a seed, replay it on the model,
 * compare normalized replies; shrink a failing sequence by dropping commands while the engines
 * still disagree.
 */
import type { Engine } from "../../src/engines/engine.js";
import { BlockcheckError } from "../../src/errors.js";
import { firstDifference, firstRawDifference, type RunDifference } from "./compare.js";
import { withEngine } from "./engines.js";
import { GENERATED_IMAGES } from "./gen-images.js";
import { SequenceGenerator } from "./generator.js";
import { liveView } from "./live-view.js";
import { replaySteps, runStep, runSteps } from "./run-steps.js";
import type { RecordedStep, Step } from "./steps.js";

export interface EngineFactories {
  qemu: () => Engine;
  model: () => Engine;
}

export interface CaseOutcome {
  seed: number;
  /** The input steps, with implicit nodes as `{"$node": path}`: enough to reproduce. */
  steps: Step[];
  /** QEMU's run (possibly cut short by a crash). */
  qemu: RecordedStep[];
  difference?: RunDifference;
  /** QEMU died or stopped answering: a finding about QEMU, never ignored. */
  qemuCrash?: string;
  /** The model threw instead of replying. */
  modelError?: string;
}

function describeError(e: unknown): string {
  return e instanceof BlockcheckError ? `${e.code}: ${e.message}` : e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** Generate on QEMU, step by step from the live state. */
async function generate(seed: number, factories: EngineFactories): Promise<Pick<CaseOutcome, "steps" | "qemu" | "qemuCrash">> {
  const steps: Step[] = [...GENERATED_IMAGES];
  const qemu: RecordedStep[] = [];
  try {
    await withEngine(factories.qemu, async (engine, workdir) => {
      qemu.push(...(await runSteps(engine, workdir, steps)));
      const gen = new SequenceGenerator(seed);
      let view = await liveView(engine);
      for (let i = gen.length(); i > 0; i--) {
        const step = gen.next(view);
        steps.push(step);
        const rec = await runStep(engine, workdir, step);
        qemu.push(rec);
        view = await liveView(engine);
        if (rec.kind === "qmp") gen.observe(rec, view);
      }
    });
    return { steps, qemu };
  } catch (e) {
    return { steps, qemu, qemuCrash: describeError(e) };
  }
}

async function replayOnModel(qemu: RecordedStep[], factories: EngineFactories): Promise<{ difference?: RunDifference; modelError?: string }> {
  const model: RecordedStep[] = [];
  try {
    await withEngine(factories.model, (engine, workdir) => replaySteps(engine, workdir, qemu, model));
  } catch (e) {
    // A throw after the engines already disagreed is a consequence; report the disagreement.
    const earlier = firstDifference(qemu.slice(0, model.length), model);
    return earlier ? { difference: earlier } : { modelError: `step ${model.length + 1}: ${describeError(e)}` };
  }
  // Both ran on this machine's file system, so even actual-size must agree.
  const difference = firstDifference(qemu, model) ?? firstRawDifference(qemu, model);
  return difference ? { difference } : {};
}

/** Run one seeded case on both engines. */
export async function runCase(seed: number, factories: EngineFactories): Promise<CaseOutcome> {
  const generated = await generate(seed, factories);
  if (generated.qemuCrash) return { seed, ...generated };
  return { seed, ...generated, ...(await replayOnModel(generated.qemu, factories)) };
}

/** Re-run fixed input steps on both engines (no generator); undefined when QEMU cannot run them. */
async function rerun(steps: Step[], factories: EngineFactories): Promise<{ failing: boolean } | undefined> {
  let qemu: RecordedStep[];
  try {
    qemu = await withEngine(factories.qemu, (engine, workdir) => runSteps(engine, workdir, steps));
  } catch {
    return undefined;
  }
  const r = await replayOnModel(qemu, factories);
  return { failing: r.difference !== undefined || r.modelError !== undefined };
}

/** Drop commands one at a time while the engines still disagree; at most `budget` re-runs. */
export async function shrink(outcome: CaseOutcome, factories: EngineFactories, budget = 80): Promise<Step[]> {
  let steps = outcome.steps;
  const end = outcome.difference ? outcome.difference.step + 1 : steps.length;
  steps = steps.slice(0, end);
  for (let i = steps.length - 2; i >= 0 && budget > 0; i--) {
    if (steps[i]!.kind === "image") continue;
    const candidate = [...steps.slice(0, i), ...steps.slice(i + 1)];
    budget--;
    if ((await rerun(candidate, factories))?.failing) steps = candidate;
  }
  return steps;
}
