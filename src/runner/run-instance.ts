/**
 * One scenario instance on each requested engine: run, check the golden, and with two engines diff
 * their transcripts (any difference is a failure, reported on the model run: the model exists to
 * mirror QEMU). With both engines only QEMU's transcripts are written, as goldens (--update) or as
 * pending files: the model's must not overwrite QEMU's. A run that did not finish for a reason
 * outside the scenario (crash, hang, timeout) is not compared with its golden at all, and its kept
 * scratch directory is named with its logs. Scratch directories are removed on success and kept on
 * failure.
 */
import { readdir } from "node:fs/promises";
import path from "node:path";
import type { Engine } from "../engines/engine.js";
import { checkGolden, goldenFileFor, type GoldenResult } from "../golden/check.js";
import { renderDiff } from "../golden/diff.js";
import type { GoldenListing } from "../golden/listing.js";
import { writePictures, writeScratchPictures } from "../picture/picture-files.js";
import { resultId, type EngineName, type Failure, type ScenarioResult } from "./results.js";
import type { ScenarioInstance } from "./instance.js";
import { runOnEngine, type EngineRun } from "./run-on-engine.js";
import { flushQmpLog, QMP_LOG, withQmpLog } from "./qmp-log.js";
import { createScratch, materializeScratch, planScratch, removeScratch, settleScratch } from "./scratch.js";
import { displayName } from "./selection.js";
import { traceRun, type TraceSink } from "./trace.js";
import type { Warmed } from "./warm-pool.js";

export interface InstanceOptions {
  cwd: string;
  /** The project root (default `cwd`): pending files record scenario paths relative to it. */
  projectRoot?: string;
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
  /** Which `blockcheck run` this is, recorded beside each pending file. */
  runId?: string;
  /** Where --trace lines go; no tracing when absent. */
  trace?: TraceSink;
  /** --allow-unsafe: scenarios that `require unsafe` run (default false: they are skipped). */
  allowUnsafe?: boolean;
  /** This instance's qemu engine and scratch directory, made and started ahead (warm-pool.ts). */
  warmed?: Warmed;
  /**
   * Given the engine for a later scenario on the process and scratch directory of `warmed`, when its
   * engine kept them (Engine.successor). Without it, nothing is kept.
   */
  recycle?: (next: Warmed) => void;
  /**
   * Given the removal of each scratch directory that is not kept, instead of waiting for it: the
   * caller awaits them before it returns (run-all.ts), and the next scenario need not wait for the disk.
   */
  deferRemoval?: (removal: Promise<void>) => void;
  /**
   * --pictures: `show graph` steps draw SVG pictures. A passing run of the engine that writes goldens
   * puts them beside its golden (picture-files.ts); a failed run keeps them in its scratch directory.
   * Nothing is written in CI mode.
   */
  pictures?: boolean;
  /** Told the pictures (absolute paths) a run wrote beside its golden. */
  onPicturesWritten?: (files: string[]) => void;
  /** The run's listing of golden directories (golden/listing.ts); without it every golden is looked for. */
  goldenListing?: GoldenListing;
}

/** What a golden that was not looked at reports: the run did not get that far. */
const NOT_COMPARED = "not-compared";

interface EngineOutcome {
  engine: EngineName;
  run: EngineRun;
  golden?: GoldenResult | { status: typeof NOT_COMPARED; file: string };
  scratchDir: string;
  keep: boolean;
}

/** Run the instance on every engine; results in engine order. */
export async function runInstance(inst: ScenarioInstance, opts: InstanceOptions): Promise<ScenarioResult[]> {
  const runs: EngineOutcome[] = [];
  // QEMU is the reference: with both engines it runs first, and only its transcript may be written;
  // the model is then checked against that golden like any other run.
  const order = opts.engines.includes("qemu") ? ["qemu" as const, ...opts.engines.filter((e) => e !== "qemu")] : opts.engines;
  for (const engine of order) {
    const writer = engine === "qemu" || !opts.engines.includes("qemu");
    const id = resultId(inst.name, inst.suffix, engine);
    opts.onStart?.(id);
    const warm = engine === "qemu" ? opts.warmed : undefined;
    // The model keeps its files in memory: its directory is made only if it is kept.
    const scratch =
      warm?.scratch ?? (engine === "model" && !opts.keepScratch ? planScratch(opts.scratchParent) : await createScratch(opts.scratchParent, { keep: opts.keepScratch }));
    let run: EngineRun;
    let logged: Engine;
    let bare: Engine;
    try {
      bare = warm?.engine ?? opts.makeEngine(engine);
      // Written only if the directory is kept (flushQmpLog below); as it happens with --keep-scratch.
      logged = withQmpLog(bare, path.join(scratch.dir, QMP_LOG), { writeThrough: opts.keepScratch });
      const trace = opts.trace ? traceRun(logged, id, opts.trace) : undefined;
      run = await runOnEngine(inst, trace?.engine ?? logged, scratch, {
        timeoutMs: opts.timeoutMs,
        allowUnsafe: opts.allowUnsafe ?? false,
        pictures: opts.pictures === true && !opts.ci,
        ...(opts.now ? { now: opts.now } : {}),
        ...(trace ? { onStep: (stmt) => trace.step(inst.file, stmt) } : {}),
      });
    } catch (e) {
      // The whole run stops (QEMU cannot be run at all): nothing of this one is worth keeping.
      await warm?.engine.successor?.(false).catch(() => undefined);
      await removeScratch(scratch).catch(() => undefined);
      throw e;
    }
    const golden = await compare(inst, engine, run, writer, opts).catch(async (e: unknown) => {
      await warm?.engine.successor?.(false).catch(() => undefined);
      throw e;
    });
    if (run.failures.length > 0) run.status = "fail";
    const keep = opts.keepScratch || (run.status === "fail" && opts.keepFailed !== false);
    // A directory kept for the user is no later scenario's: its process, if the engine kept it, ends
    // here. Otherwise nothing below touches the directory, and the engine kept goes on at once.
    const next = warm ? await bare.successor?.(!keep && opts.recycle !== undefined) : undefined;
    if (next) opts.recycle!({ scratch, engine: next });
    if (keep) materializeScratch(scratch);
    if (keep) flushQmpLog(logged);
    // The model's images are in memory: a directory that is kept gets them as QEMU would leave them.
    if (keep) writeFilesOut(bare, run);
    if (keep) await pointAtLogs(run.failures, scratch.dir);
    await placePictures(inst, run, writer, keep ? scratch.dir : undefined, opts);
    // A directory that went on with its engine is neither removed nor kept.
    if (!next && !keep && opts.deferRemoval) opts.deferRemoval(removeScratch(scratch));
    else if (!next) await settleScratch(scratch, keep);
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
  const differ = model && qemu ? differingPicture(qemu.run, model.run) : undefined;
  if (differ !== undefined) {
    model!.run.failures.push({ kind: "engines-differ", message: `the model's picture '${differ}' differs from QEMU's (show graph ${differ})` });
    model!.run.status = "fail";
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

/**
 * Where a run's pictures go: a passing run of the writing engine puts them beside the golden (and
 * removes the instance's pictures it no longer draws); a failed run whose scratch directory is kept
 * leaves them there, and its first failure says where. A skipped run drew nothing.
 */
async function placePictures(inst: ScenarioInstance, run: EngineRun, writer: boolean, keptScratch: string | undefined, opts: InstanceOptions): Promise<void> {
  if (!run.pictures || run.status === "skip") return;
  if (run.failures.length === 0) {
    if (!writer) return;
    const files = await writePictures(opts.goldenRoot, { name: inst.name, bindings: inst.bindings }, run.pictures);
    if (files.length > 0) opts.onPicturesWritten?.(files);
    return;
  }
  if (keptScratch === undefined || run.pictures.length === 0) return;
  const dir = await writeScratchPictures(keptScratch, run.pictures);
  const f = run.failures[0]!;
  const note = `pictures of its graphs: ${dir}`;
  run.failures[0] = { ...f, details: f.details ? `${f.details}\n${note}` : note };
}

/**
 * The key of the first picture two engines drew differently (or drew on one only), if any. Only
 * runs with equal transcripts are compared: a difference there is already the failure that says it.
 */
function differingPicture(qemu: EngineRun, model: EngineRun): string | undefined {
  if (!qemu.pictures || !model.pictures || qemu.transcript === undefined || qemu.transcript !== model.transcript) return undefined;
  const theirs = new Map(qemu.pictures.map((p) => [p.key, p.svg]));
  const ours = new Map(model.pictures.map((p) => [p.key, p.svg]));
  for (const key of new Set([...theirs.keys(), ...ours.keys()])) if (theirs.get(key) !== ours.get(key)) return key;
  return undefined;
}

/** Check the run's transcript against its golden, unless the run did not finish; adds the golden's failure. */
async function compare(
  inst: ScenarioInstance,
  engine: EngineName,
  run: EngineRun,
  writer: boolean,
  opts: InstanceOptions,
): Promise<EngineOutcome["golden"]> {
  if (run.transcript === undefined) return undefined;
  const golden = { name: inst.name, bindings: inst.bindings };
  if (run.failures.some((f) => f.infrastructure)) {
    return { status: NOT_COMPARED, file: await goldenFileFor(opts.goldenRoot, golden, engine, opts.cwd) };
  }
  const root = opts.projectRoot ?? opts.cwd;
  const result = await checkGolden({
    goldenRoot: opts.goldenRoot,
    golden,
    engine,
    actual: run.transcript,
    // A run whose own expectations failed is not a spec: never write it as a golden.
    update: opts.update && writer && run.failures.length === 0,
    ...(opts.update ? updateRefusal(opts, writer, run) : {}),
    ci: opts.ci,
    color: opts.color,
    cwd: opts.cwd,
    scenarioArg: inst.file,
    writePending: writer,
    ...(opts.goldenListing ? { listing: opts.goldenListing } : {}),
    provenance: {
      run: opts.runId ?? `pid ${process.pid}`,
      ...(run.engineVersion !== undefined ? { engineVersion: run.engineVersion } : {}),
      scenario: path.relative(root, path.resolve(opts.cwd, inst.file)).split(path.sep).join("/"),
      instance: displayName(inst),
    },
  });
  const f = goldenFailure(result);
  if (f) run.failures.push(f);
  return result;
}

/** Why --update may not write this run's golden, when it may not: said instead of suggesting --update again. */
function updateRefusal(opts: InstanceOptions, writer: boolean, run: EngineRun): { updateRefused?: string } {
  if (opts.ci) return { updateRefused: "CI mode writes nothing" };
  if (!writer) return { updateRefused: "with both engines only QEMU's transcript is written" };
  if (run.failures.length > 0) return { updateRefused: "the run failed its own expectations, and a failed run is no golden" };
  return {};
}

/** The engine's in-memory files on disk; a failure to write them is the run's failure, not the whole run's. */
function writeFilesOut(engine: Engine, run: EngineRun): void {
  try {
    engine.writeFilesOut?.();
  } catch (e) {
    run.failures.push({ kind: "error", message: `cannot write the model's image files to the scratch directory: ${(e as Error).message}` });
    run.status = "fail";
  }
}

/**
 * A run that did not finish is debugged from its logs: name them on its infrastructure failure.
 * (The QMP log is the runner's; QEMU's own output is the qemu engine's `.qemu-*.log`.)
 */
async function pointAtLogs(failures: Failure[], dir: string): Promise<void> {
  const first = failures.findIndex((f) => f.infrastructure);
  if (first < 0) return;
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n === QMP_LOG || /^\.qemu-.*\.log$/.test(n)).sort();
  if (names.length === 0) return;
  const f = failures[first]!;
  const logs = names.map((n) => `${n === QMP_LOG ? "QMP log" : "QEMU's output"}: ${path.join(dir, n)}`).join("\n");
  failures[first] = { ...f, details: f.details ? `${f.details}\n${logs}` : logs };
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
      return { kind: "missing-golden", message: g.pendingError ? `${g.message} (${g.pendingError})` : g.message };
    case "invalid":
      return { kind: "golden", message: g.message };
    case "error":
      return { kind: "error", message: g.message };
    default:
      return undefined;
  }
}

function goldenInfo(g: NonNullable<EngineOutcome["golden"]>): NonNullable<ScenarioResult["golden"]> {
  const reason = "engineReason" in g && g.engineReason !== undefined ? { engineReason: g.engineReason } : {};
  const pendingFile = g.status === "mismatch" ? g.badFile : g.status === "missing" ? g.pendingFile : undefined;
  return { file: g.file, status: g.status, ...reason, ...(pendingFile !== undefined ? { pending: pendingFile } : {}) };
}
