/**
 * One scenario instance on each requested engine: run, check the golden, and with two engines diff
 * their transcripts (any difference is a failure, reported on the model run: the model exists to
 * mirror QEMU). With both engines and --update only QEMU's transcript is written. Scratch
 * directories are removed on success and kept on failure.
 */
import path from "node:path";
import type { Engine } from "../engines/engine.js";
import { checkGolden, type GoldenResult } from "../golden/check.js";
import { renderDiff } from "../golden/diff.js";
import { resultId, type EngineName, type Failure, type ScenarioResult } from "./results.js";
import type { ScenarioInstance } from "./instance.js";
import { runOnEngine, type EngineRun } from "./run-on-engine.js";
import { QMP_LOG, withQmpLog } from "./qmp-log.js";
import { createScratch, settleScratch } from "./scratch.js";

export interface InstanceOptions {
  cwd: string;
  goldenRoot: string;
  engines: readonly EngineName[];
  timeoutMs: number;
  keepScratch: boolean;
  /** Keep the scratch directory of a failed run for inspection (default true). */
  keepFailed?: boolean;
  update: boolean;
  ci: boolean;
  color: boolean;
  makeEngine: (kind: EngineName) => Engine;
  scratchParent?: string;
  now?: () => number;
  onStart?: (id: string) => void;
}

/** Run the instance on every engine; results in engine order. */
export async function runInstance(inst: ScenarioInstance, opts: InstanceOptions): Promise<ScenarioResult[]> {
  const runs: Array<{ engine: EngineName; run: EngineRun; golden?: GoldenResult; scratchDir: string; keep: boolean }> = [];
  // QEMU is the reference: with both engines it runs first, and only its transcript may update the
  // golden; the model is then checked against that golden like any other run.
  const order = opts.engines.includes("qemu") ? ["qemu" as const, ...opts.engines.filter((e) => e !== "qemu")] : opts.engines;
  for (const engine of order) {
    let update = opts.update && (engine === "qemu" || !opts.engines.includes("qemu"));
    opts.onStart?.(resultId(inst.name, inst.suffix, engine));
    const scratch = await createScratch(opts.scratchParent, { keep: opts.keepScratch });
    const run = await runOnEngine(inst, withQmpLog(opts.makeEngine(engine), path.join(scratch.dir, QMP_LOG)), scratch, {
      timeoutMs: opts.timeoutMs,
      ...(opts.now ? { now: opts.now } : {}),
    });
    let golden: GoldenResult | undefined;
    if (run.transcript !== undefined) {
      // A run whose own expectations failed is not a spec: never write it as a golden.
      if (run.failures.length > 0) update = false;
      golden = await checkGolden({
        goldenRoot: opts.goldenRoot,
        golden: { name: inst.name, bindings: inst.bindings },
        engine,
        actual: run.transcript,
        update,
        ci: opts.ci,
        color: opts.color,
        cwd: opts.cwd,
        scenarioArg: inst.file,
      });
      const f = goldenFailure(golden);
      if (f) run.failures.push(f);
      if (run.failures.length > 0) run.status = "fail";
    }
    const keep = opts.keepScratch || (run.status === "fail" && opts.keepFailed !== false);
    await settleScratch(scratch, keep);
    runs.push({ engine, run, ...(golden ? { golden } : {}), scratchDir: scratch.dir, keep });
  }
  const model = runs.find((r) => r.engine === "model");
  const qemu = runs.find((r) => r.engine === "qemu");
  if (model?.run.transcript !== undefined && qemu?.run.transcript !== undefined && model.run.transcript !== qemu.run.transcript) {
    model.run.failures.push({
      kind: "engines-differ",
      message: "the model's transcript differs from QEMU's",
      diff: renderDiff(qemu.run.transcript, model.run.transcript, {
        expectedLabel: "qemu",
        actualLabel: "model",
        color: opts.color,
      }),
    });
    model.run.status = "fail";
  }
  runs.sort((a, b) => opts.engines.indexOf(a.engine) - opts.engines.indexOf(b.engine));
  return runs.map(({ engine, run, golden, scratchDir, keep }) => ({
    id: resultId(inst.name, inst.suffix, engine),
    file: inst.file,
    name: inst.name,
    suffix: inst.suffix,
    engine,
    ...(inst.title !== undefined ? { title: inst.title } : {}),
    tags: inst.tags,
    status: run.status,
    durationMs: run.durationMs,
    failures: run.failures,
    ...(run.skipReason !== undefined ? { skipReason: run.skipReason } : {}),
    ...(keep ? { scratchDir } : {}),
    ...(golden ? { golden: goldenInfo(golden) } : {}),
  }));
}

function goldenFailure(g: GoldenResult): Failure | undefined {
  switch (g.status) {
    case "mismatch":
      return {
        kind: "golden",
        message: `transcript differs from ${g.file}${g.badFile ? ` (actual written to ${g.badFile})` : g.badError ? ` (${g.badError})` : ""}`,
        diff: g.diff,
      };
    case "missing":
      return { kind: "missing-golden", message: g.message };
    case "invalid":
      return { kind: "golden", message: g.message };
    case "error":
      return { kind: "error", message: g.message };
    default:
      return undefined;
  }
}

function goldenInfo(g: GoldenResult): { file: string; status: string; engineReason?: string } {
  const reason = "engineReason" in g && g.engineReason !== undefined ? { engineReason: g.engineReason } : {};
  return { file: g.file, status: g.status, ...reason };
}
