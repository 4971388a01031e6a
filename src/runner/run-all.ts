/**
 * `blockcheck run` as a library call: discover, load, select, run in parallel, check goldens,
 * report. Returns the summary; the caller decides the exit code and writes the times file.
 * A selection that holds no scenario is an error (NoScenarioSelectedError) unless the caller
 * passes `passWithNone`: a run that tests nothing must not look green.
 */
import os from "node:os";
import path from "node:path";
import type { Engine } from "../engines/engine.js";
import { assertDistinctGoldens } from "../golden/collisions.js";
import { findOrphanGoldens, removeOrphan } from "../golden/orphans.js";
import { goldenStem } from "../golden/paths.js";
import { sweepStaleTemps } from "../golden/store.js";
import { discover, emptyPathsError, type ScenarioFile } from "./discovery.js";
import { NoScenarioSelectedError } from "./errors.js";
import type { ScenarioInstance } from "./instance.js";
import { loadScenarioFile, type LoadFailure, type ScenarioLoader } from "./load.js";
import { LoadCache, type LoadCacheConfig } from "./load-cache.js";
import { GoldenListing } from "../golden/listing.js";
import { ModelWorkers, workerCount } from "./model-workers/pool.js";
import type { InstanceRef, WorkerRunOptions } from "./model-workers/protocol.js";
import { slowestFirst } from "./order.js";
import { runPool } from "./pool.js";
import { relativePath } from "../relative-path.js";
import { combineReporters, type Reporter } from "./reporter.js";
import { resultId, type EngineName, type RunSummary, type ScenarioResult } from "./results.js";
import type { CachedFile, ResultCache } from "./result-cache.js";
import { runInstance, type InstanceOptions } from "./run-instance.js";
import { WarmPool, type Warmed } from "./warm-pool.js";
import { sweepStaleScratch } from "./scratch.js";
import { describeFilters, isUnfiltered, select, type SelectionOptions } from "./selection.js";
import type { TraceSink } from "./trace.js";

export interface RunOptions {
  /**
   * How long each run took in the last run that wrote them, by resultId: with more than one lane,
   * the slowest start first (order.ts).
   */
  previousTimes?: ReadonlyMap<string, number>;
  cwd: string;
  /** Absolute scenario root (tests/scenarios). */
  scenarioRoot: string;
  /** Absolute golden root (golden). */
  goldenRoot: string;
  /** Positional PATH arguments. */
  paths: readonly string[];
  engines: readonly EngineName[];
  jobs: number;
  timeoutMs: number;
  bail: boolean;
  keepScratch: boolean;
  update: boolean;
  ci: boolean;
  prune: boolean;
  selection: SelectionOptions;
  /** Colour in diffs. */
  color: boolean;
  makeEngine: (kind: EngineName) => Engine;
  reporters: readonly Reporter[];
  loader?: ScenarioLoader;
  scratchParent?: string;
  now?: () => number;
  /** An empty selection is a pass, not an error (`--pass-with-none`). */
  passWithNone?: boolean;
  /** The project root (default `cwd`), for the paths recorded beside pending files. */
  projectRoot?: string;
  /** Where --trace lines go (every engine call of every run); no tracing when absent. */
  trace?: TraceSink;
  /**
   * Called with the selected instances before anything runs, e.g. to check that QEMU can be run at
   * all; what it throws ends the run before any scenario starts.
   */
  preflight?: (instances: readonly ScenarioInstance[]) => Promise<void>;
  /** Recorded beside each pending file as the run that wrote it (default: start time and pid). */
  runId?: string;
  /** --allow-unsafe: scenarios that `require unsafe` run (default false: they are skipped). */
  allowUnsafe?: boolean;
  /** --pictures: `show graph` steps draw SVG pictures, written beside the goldens (run-instance.ts). */
  pictures?: boolean;
  /** Told the pictures (absolute paths) each run wrote beside its golden. */
  onPicturesWritten?: (files: string[]) => void;
  /**
   * A run on the model alone may load and run its scenarios on up to this many worker threads (and
   * no more than `jobs`), each with a fresh ModelEngine per run (model-workers/): only when nothing
   * of the run is injected (no loader, trace, preflight or clock) and there are enough files to pay
   * for the workers' start. Default 0: the runner's own thread.
   */
  modelWorkers?: number;
  /**
   * --fresh-qemu: every scenario on QEMU gets a process of its own, even where one kept from an
   * earlier scenario is proven as good as fresh (engines/qemu/reuse.ts). Default false.
   */
  freshQemu?: boolean;
  /** Keep loaded scenarios across runs here (load-cache.ts); every file is loaded afresh without. */
  loadCache?: Omit<LoadCacheConfig, "files">;
  /**
   * Model results kept across runs (result-cache.ts): files known to pass as they are report their
   * kept results instead of running, and this run's passes are recorded in it. Used only on the
   * model alone, outside CI, and with nothing that needs a run to happen (--keep-scratch,
   * --pictures, a trace, an injected loader or clock); the caller writes it out.
   */
  resultCache?: ResultCache;
}

/** What planning needs of an instance: a loaded one, or a worker's reference to one. */
type Planned = Omit<ScenarioInstance, "scenario">;

type PlanOptions = Pick<RunOptions, "cwd" | "scenarioRoot" | "paths" | "selection" | "loader" | "passWithNone" | "loadCache">;

/** The instances a run would execute (for --list), plus files that do not load. */
export async function planRun(opts: PlanOptions) {
  return plan(opts, (files) => loadAll(files, opts));
}

async function plan<I extends Planned>(opts: PlanOptions, load: (files: readonly ScenarioFile[]) => Promise<{ instances: I[]; failures: LoadFailure[] }>) {
  const { files, empty } = await discover(opts.scenarioRoot, opts.paths, opts.cwd);
  const { instances, failures } = await load(files);
  // Before anything runs or is written: no two runs may share a golden file.
  assertDistinctGoldens(instances.map((i) => ({ name: i.name, bindings: i.bindings, label: `${i.file}${i.suffix ? ` [${i.suffix}]` : ""}` })));
  const selected = select(instances, opts.selection);
  if (!opts.passWithNone) assertSelected(opts, empty, instances.length, selected.length + failures.length);
  return { files, all: instances, instances: selected, failures };
}

/** Throw NoScenarioSelectedError, naming the selection, when a PATH or the filters select nothing. */
function assertSelected(opts: PlanOptions, empty: readonly string[], loaded: number, selected: number): void {
  const root = path.relative(opts.cwd, opts.scenarioRoot) || ".";
  const quoted = (args: readonly string[]) => args.map((a) => `'${a}'`).join(", ");
  if (empty.length > 0) throw emptyPathsError(empty, opts.scenarioRoot, opts.cwd);
  if (selected > 0) return;
  const runs = `${loaded} scenario run${loaded === 1 ? "" : "s"}`;
  const among = opts.paths.length > 0 ? `the ${runs} of ${quoted(opts.paths)}` : `the ${runs} under ${root}`;
  if (!isUnfiltered(opts.selection)) throw new NoScenarioSelectedError(`${describeFilters(opts.selection)} matches none of ${among}`);
  throw new NoScenarioSelectedError(`there is no scenario under ${root}`);
}

/** Run everything the options select. */
export async function runScenarios(opts: RunOptions): Promise<RunSummary> {
  const now = opts.now ?? (() => performance.now());
  const t0 = now();
  const reporter = combineReporters(opts.reporters);
  const runId = opts.runId ?? `${new Date().toISOString()} pid ${process.pid}`;
  let workers: ModelWorkers | undefined;
  try {
    // The temp directory is read from the environment once per run, not once per scenario.
    const scratchParent = opts.scratchParent ?? os.tmpdir();
    return await runPlanned({ ...opts, scratchParent }, reporter, runId, t0, now, (w) => (workers = w));
  } finally {
    await workers?.dispose();
  }
}

async function runPlanned(
  opts: RunOptions,
  reporter: Required<Reporter>,
  runId: string,
  t0: number,
  now: () => number,
  onWorkers: (w: ModelWorkers) => void,
): Promise<RunSummary> {
  let workers: ModelWorkers | undefined;
  const cache = resultCacheOf(opts);
  const hits = new Set<Planned>();
  const cachedById = new Map<string, ScenarioResult>();
  const misses: ScenarioFile[] = [];
  const { all, instances: selected, failures } = await plan<ScenarioInstance | InstanceRef | Planned>(opts, async (files) => {
    const known = new Map<ScenarioFile, CachedFile>();
    for (const f of files) {
      const hit = cache?.probe(f);
      if (hit) known.set(f, hit);
      else misses.push(f);
    }
    const count = canUseWorkers(opts) ? workerCount(misses.length, Math.min(opts.jobs, opts.modelWorkers ?? 0)) : 0;
    let loaded: { instances: Array<ScenarioInstance | InstanceRef>; failures: LoadFailure[] };
    if (count < 2) loaded = await loadAll(misses, opts);
    else {
      const started = await ModelWorkers.load(misses, count, workerOptions(opts, runId, misses.length));
      onWorkers((workers = started.workers));
      loaded = started;
    }
    if (known.size === 0) return loaded;
    for (const hit of known.values()) {
      for (const inst of hit.instances) hits.add(inst);
      for (const [id, r] of hit.results) cachedById.set(id, r);
    }
    // In file order, as without the cache: --shard deals the runs out in that order.
    return { instances: inFileOrder(files, known, loaded.instances, opts.cwd), failures: loaded.failures };
  });
  const planned = hits.size === 0 ? selected : selected.filter((i) => !hits.has(i));
  // Model workers share their scenarios out by themselves; everything else runs in lanes here.
  const instances = workers || opts.jobs < 2 ? planned : slowestFirst(planned as ScenarioInstance[], opts.previousTimes, opts.engines);
  await opts.preflight?.(instances as ScenarioInstance[]);
  // What runs that died without cleaning up left behind (see scratch.ts, golden/store.ts). CI writes
  // nothing in the golden directory, so it does not sweep it either.
  await sweepStaleScratch(opts.scratchParent);
  if (!opts.ci) await sweepStaleTemps(opts.goldenRoot);
  const total = (instances.length + failures.length) * opts.engines.length;
  reporter.onRunStart({ total, engines: opts.engines, jobs: opts.jobs, ...(workers ? { threads: workers.count } : {}) });

  const results: ScenarioResult[] = [];
  const emit = (r: ScenarioResult) => {
    results.push(r);
    reporter.onScenarioEnd(r);
  };
  for (const f of failures) for (const engine of opts.engines) emit(loadFailureResult(f, engine));
  if (hits.size > 0) {
    for (const inst of selected) {
      const r = hits.has(inst) ? cachedById.get(resultId(inst.name, inst.suffix, "model")) : undefined;
      if (!r) continue;
      reporter.onScenarioStart(r.id);
      cache!.settle(r);
      emit(r);
    }
  }

  const stopEarly = opts.bail && failures.length > 0;
  // An error that is no scenario's (no scratch directory can be made: the disk is full) stops the
  // run: nothing more starts, the runs in progress finish and clean up, then it is thrown.
  let fatal: { error: unknown } | undefined;
  // QEMU's start is the slow part of a short scenario: engines start while the current scenarios
  // run, and a process a scenario left provably fresh goes on to the next (warm-pool.ts).
  const warm =
    opts.engines.includes("qemu") && !stopEarly
      ? new WarmPool(instances as ScenarioInstance[], opts.jobs, {
          kind: "qemu",
          makeEngine: opts.makeEngine,
          scratchParent: opts.scratchParent,
          keepScratch: opts.keepScratch,
          reuse: !opts.keepScratch && opts.freshQemu !== true,
        })
      : undefined;
  const removals: Promise<void>[] = [];
  // The same for every run here: made once, not spread again for each scenario.
  const instanceOpts: InstanceOptions = {
    ...opts,
    runId,
    goldenListing: new GoldenListing(),
    // Caught at once (a rejection nobody handles yet would end the process), reported after the run.
    deferRemoval: (removal) => void removals.push(removal.catch((error: unknown) => void (fatal ??= { error }))),
    onStart: (id) => reporter.onScenarioStart(id),
  };
  let notRun: number;
  try {
    notRun = stopEarly
      ? instances.length * opts.engines.length
      : workers
        ? await workers.run(instances as InstanceRef[], {
            onStart: (id) => reporter.onScenarioStart(id),
            onResults: (rs) => {
              rs.forEach(emit);
              if (opts.bail && rs.some((r) => r.status === "fail")) workers!.stop();
            },
            onPictures: (files) => opts.onPicturesWritten?.(files),
          })
        : (await runPool(instances as ScenarioInstance[], opts.jobs, async (inst, control, index) => {
          try {
            const warmed = await warm?.take(index);
            const rs = await runInstance(inst, warmed ? { ...instanceOpts, warmed, recycle: (next: Warmed) => warm!.giveBack(index, next) } : instanceOpts);
            rs.forEach(emit);
            if (opts.bail && rs.some((r) => r.status === "fail")) control.stop();
          } catch (error) {
            fatal ??= { error };
            control.stop();
          } finally {
            warm?.giveBack(index);
          }
        })) * opts.engines.length;
  } finally {
    await warm?.dispose();
    // Every scratch directory is gone before the run returns; one that could not be removed stops it.
    await Promise.all(removals);
  }
  if (fatal) throw fatal.error;

  // The results are in: a golden directory that cannot be searched or pruned is reported after
  // them, and then ends the command with its error.
  let lateError: unknown;
  // Only a run of every scenario can tell that a golden has none; and a tree with no scenario at all
  // (a mistyped scenario root, with --pass-with-none) says nothing about the goldens, so none is an orphan.
  const fullRun = opts.paths.length === 0 && isUnfiltered(opts.selection) && all.length + failures.length > 0;
  if (cache) recordResults(cache, misses, all, results, opts.cwd, fullRun);
  const orphans = fullRun ? await orphanGoldens(opts, all, failures).catch((e: unknown) => ((lateError = e), [])) : [];
  const pruned = orphans.length > 0 && opts.prune && !opts.ci;
  if (pruned) {
    for (const o of orphans) await removeOrphan(path.resolve(opts.cwd, o)).catch((e: unknown) => (lateError ??= e));
  }
  const engineSpecific = results
    .filter((r) => r.golden?.engineReason !== undefined)
    .map((r) => ({ file: r.golden!.file, reason: r.golden!.engineReason! }));

  const summary: RunSummary = {
    results: results.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    durationMs: now() - t0,
    orphans,
    pruned: pruned && lateError === undefined,
    engineSpecific,
    notRun,
  };
  reporter.onRunEnd(summary);
  if (lateError !== undefined) throw lateError;
  return summary;
}

/** The result cache, when this run may use it (see RunOptions.resultCache). */
function resultCacheOf(opts: RunOptions): ResultCache | undefined {
  const modelAlone = opts.engines.length === 1 && opts.engines[0] === "model";
  const runsNeeded = opts.keepScratch || opts.pictures === true || opts.trace !== undefined || opts.loader !== undefined || opts.now !== undefined;
  return modelAlone && !opts.ci && !runsNeeded ? opts.resultCache : undefined;
}

/** The instances of files the cache answered and of files loaded, in the order of `files`. */
function inFileOrder<I>(files: readonly ScenarioFile[], known: ReadonlyMap<ScenarioFile, CachedFile>, loaded: readonly (I & Planned)[], cwd: string): Array<I | Planned> {
  const out: Array<I | Planned> = [];
  let next = 0;
  for (const f of files) {
    const hit = known.get(f);
    if (hit) {
      out.push(...hit.instances);
      continue;
    }
    const shown = relativePath(cwd, f.abs) || f.abs;
    while (next < loaded.length && loaded[next]!.file === shown) out.push(loaded[next++]!);
  }
  return out;
}

/** Keep what this run learnt: the files that ran, every run of each done, and passed. */
function recordResults(cache: ResultCache, ran: readonly ScenarioFile[], all: readonly Planned[], results: readonly ScenarioResult[], cwd: string, fullRun: boolean): void {
  const byFile = new Map<string, Planned[]>();
  for (const inst of all) {
    const list = byFile.get(inst.file);
    if (list) list.push(inst);
    else byFile.set(inst.file, [inst]);
  }
  const byId = new Map(results.map((r) => [r.id, r]));
  for (const f of ran) {
    const shown = relativePath(cwd, f.abs) || f.abs;
    const planned = byFile.get(shown);
    if (planned) cache.record(shown, f.abs, planned, byId);
  }
  if (fullRun) cache.retainProbed();
}

/** Whether this run may go to model workers: the model alone, and nothing injected that lives on this thread. */
function canUseWorkers(opts: RunOptions): boolean {
  return (
    opts.engines.length === 1 &&
    opts.engines[0] === "model" &&
    !opts.loader &&
    !opts.trace &&
    !opts.preflight &&
    !opts.now
  );
}

function workerOptions(opts: RunOptions, runId: string, files: number): WorkerRunOptions {
  return {
    ...(opts.loadCache ? { loadCache: { ...opts.loadCache, files } } : {}),
    cwd: opts.cwd,
    ...(opts.projectRoot !== undefined ? { projectRoot: opts.projectRoot } : {}),
    goldenRoot: opts.goldenRoot,
    timeoutMs: opts.timeoutMs,
    keepScratch: opts.keepScratch,
    update: opts.update,
    ci: opts.ci,
    color: opts.color,
    ...(opts.scratchParent !== undefined ? { scratchParent: opts.scratchParent } : {}),
    runId,
    allowUnsafe: opts.allowUnsafe ?? false,
    pictures: opts.pictures ?? false,
  };
}

async function loadAll(
  files: readonly ScenarioFile[],
  opts: Pick<RunOptions, "cwd" | "loader" | "loadCache">,
): Promise<{ instances: ScenarioInstance[]; failures: LoadFailure[] }> {
  const cache = opts.loadCache && !opts.loader ? new LoadCache({ ...opts.loadCache, files: files.length }) : undefined;
  const load: ScenarioLoader = opts.loader ?? ((f, cwd) => loadScenarioFile(f, cwd, cache));
  const instances: ScenarioInstance[] = [];
  const failures: LoadFailure[] = [];
  for (const f of files) {
    const r = await load(f, opts.cwd);
    if (r.ok) instances.push(...r.instances);
    else failures.push(r.failure);
  }
  return { instances, failures };
}

/**
 * Goldens no scenario reads, given every scenario (a full run has loaded them all); a scenario that
 * does not load protects every golden of its name.
 */
async function orphanGoldens(opts: RunOptions, all: readonly Planned[], failures: readonly LoadFailure[]): Promise<string[]> {
  const known = all.map((i) => ({ name: i.name, bindings: i.bindings }));
  const protectedStems = failures.map((f) => goldenStem(f.name) + ".");
  const orphans = await findOrphanGoldens(opts.goldenRoot, known);
  return orphans
    .map((o) => path.relative(opts.goldenRoot, o).split(path.sep).join("/"))
    .filter((rel) => !protectedStems.some((stem) => rel.startsWith(stem)))
    .map((rel) => path.relative(opts.cwd, path.join(opts.goldenRoot, rel)));
}

function loadFailureResult(f: LoadFailure, engine: EngineName): ScenarioResult {
  return {
    id: resultId(f.name, "", engine),
    file: f.file,
    name: f.name,
    suffix: "",
    engine,
    tags: [],
    status: "fail",
    durationMs: 0,
    failures: [{ kind: "error", message: `${f.file} does not load`, details: f.message }],
  };
}
