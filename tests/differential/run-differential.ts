/**
 * One differential case: generate a sequence on real QEMU from a seed, replay it on the model,
 * compare normalized replies; shrink a failing sequence by dropping commands while the engines
 * still disagree.
 */
import type { Engine } from "../../src/engines/engine.js";
import { BlockcheckError } from "../../src/errors.js";
import { firstDifference, firstRawDifference, type RunDifference } from "./compare.js";
import { GENERATED_IMAGES } from "./gen-images.js";
import { LUKS_REPLY_RANDOM, luksPrologue } from "./gen-luks.js";
import { VHDX_ACTUAL_SIZE } from "./gen-vhdx.js";
import { featuresFor, firstImageDifference, imagePaths, mirrored, withEngineImages, type ImageFile } from "./image-files.js";
import { SequenceGenerator } from "./generator.js";
import { liveView } from "./live-view.js";
import { replaySteps, runStep, runSteps } from "./run-steps.js";
import type { RecordedStep, Step } from "./steps.js";

/** The allocation-dependent field of query-named-block-nodes' ImageInfo. */
const ACTUAL_SIZE = /"actual-size":\d+/g;

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
  /** The image files as QEMU left them, compared with the model's after the replay. */
  qemuImages?: ImageFile[];
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
async function generate(seed: number, factories: EngineFactories): Promise<Pick<CaseOutcome, "steps" | "qemu" | "qemuCrash" | "qemuImages">> {
  const steps: Step[] = [...GENERATED_IMAGES, ...luksPrologue(seed)];
  const qemu: RecordedStep[] = [];
  const gen = new SequenceGenerator(seed);
  try {
    // A sequence with io steps runs on qemu-system: qemu-storage-daemon has no HMP for qemu-io.
    const { images } = await withEngineImages(factories.qemu, new Set(gen.io ? ["io"] : []), imagePaths(steps), async (engine, workdir) => {
      qemu.push(...(await runSteps(engine, workdir, steps)));
      let view = await liveView(engine, workdir);
      for (let i = gen.length(); i > 0; i--) {
        const step = gen.next(view);
        steps.push(step);
        const rec = await runStep(engine, workdir, step);
        qemu.push(rec);
        view = await liveView(engine, workdir);
        if (rec.kind === "qmp") gen.observe(rec, view);
      }
    });
    return { steps, qemu, qemuImages: images };
  } catch (e) {
    return { steps, qemu, qemuCrash: describeError(e) };
  }
}

async function replayOnModel(qemu: RecordedStep[], factories: EngineFactories, qemuImages?: ImageFile[]): Promise<{ difference?: RunDifference; modelError?: string }> {
  const model: RecordedStep[] = [];
  let modelImages: ImageFile[];
  try {
    ({ images: modelImages } = await withEngineImages(factories.model, featuresFor(qemu), imagePaths(qemu), (engine, workdir) => replaySteps(engine, workdir, qemu, model)));
  } catch (e) {
    // A throw after the engines already disagreed is a consequence; report the disagreement.
    const earlier = firstDifference(qemu.slice(0, model.length), model);
    return earlier ? { difference: earlier } : { modelError: `step ${model.length + 1}: ${describeError(e)}` };
  }
  // Both ran on this machine's file system, so even actual-size must agree.
  // With qemu-io or a block job, QEMU punches holes where it writes zeros or discards (a job copying
  // zeros onto a file node with detect-zeroes=unmap, say); the model writes the zeros (the same
  // bytes, compared below), so only the files' allocation — actual-size — may differ.
  const always = `${LUKS_REPLY_RANDOM.source}|${VHDX_ACTUAL_SIZE.source}`;
  const mask = new RegExp(featuresFor(qemu).has("io") || jobRan(qemu) ? `${ACTUAL_SIZE.source}|${always}` : always, "g");
  const difference = firstDifference(qemu, model) ?? firstRawDifference(qemu, model, mask) ?? (qemuImages && firstImageDifference(qemuImages, modelImages, qemu.length, mirrored(qemu) ? "content" : "bytes"));
  return difference ? { difference } : {};
}

/** Whether QEMU started a block job in this run. */
function jobRan(qemu: readonly RecordedStep[]): boolean {
  return qemu.some((s) => s.kind === "qmp" && /^(block-stream|block-commit|blockdev-mirror)$/.test(s.execute) && "return" in s.reply);
}

/** Run one seeded case on both engines. */
export async function runCase(seed: number, factories: EngineFactories): Promise<CaseOutcome> {
  const generated = await generate(seed, factories);
  if (generated.qemuCrash) return { seed, ...generated };
  return { seed, ...generated, ...(await replayOnModel(generated.qemu, factories, generated.qemuImages)) };
}

/** Re-run fixed input steps on both engines (no generator); undefined when QEMU cannot run them. */
async function rerun(steps: Step[], factories: EngineFactories): Promise<{ failing: boolean } | undefined> {
  let qemu: RecordedStep[];
  let qemuImages: ImageFile[];
  try {
    ({ result: qemu, images: qemuImages } = await withEngineImages(factories.qemu, featuresFor(steps), imagePaths(steps), (engine, workdir) => runSteps(engine, workdir, steps)));
  } catch {
    return undefined;
  }
  const r = await replayOnModel(qemu, factories, qemuImages);
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
