/**
 * `blockcheck run` as a library call: discover, load, select, run in parallel, check goldens,
 * report. Returns the summary; the caller decides the exit code and writes the times file.
 */
import path from "node:path";
import type { Engine } from "../engines/engine.js";
import { assertDistinctGoldens } from "../golden/collisions.js";
import { findOrphanGoldens } from "../golden/orphans.js";
import { goldenStem } from "../golden/paths.js";
import { removeIfExists, sweepStaleTemps } from "../golden/store.js";
import { discover, type ScenarioFile } from "./discovery.js";
import type { ScenarioInstance } from "./instance.js";
import { loadScenarioFile, type LoadFailure, type ScenarioLoader } from "./load.js";
import { runPool } from "./pool.js";
import { combineReporters, type Reporter } from "./reporter.js";
import { resultId, type EngineName, type RunSummary, type ScenarioResult } from "./results.js";
import { runInstance } from "./run-instance.js";
import { sweepStaleScratch } from "./scratch.js";
import { select, type SelectionOptions } from "./selection.js";

export interface RunOptions {
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
}

/** The instances a run would execute (for --list), plus files that do not load. */
export async function planRun(opts: Pick<RunOptions, "cwd" | "scenarioRoot" | "paths" | "selection" | "loader">) {
  const files = await discover(opts.scenarioRoot, opts.paths, opts.cwd);
  const { instances, failures } = await loadAll(files, opts);
  // Before anything runs or is written: no two runs may share a golden file.
  assertDistinctGoldens(instances.map((i) => ({ name: i.name, bindings: i.bindings, label: `${i.file}${i.suffix ? ` [${i.suffix}]` : ""}` })));
  return { files, all: instances, instances: select(instances, opts.selection), failures };
}

/** Run everything the options select. */
export async function runScenarios(opts: RunOptions): Promise<RunSummary> {
  const now = opts.now ?? (() => performance.now());
  const t0 = now();
  const reporter = combineReporters(opts.reporters);
  const { all, instances, failures } = await planRun(opts);
  // What runs that died without cleaning up left behind (see scratch.ts, golden/store.ts). CI writes
  // nothing in the golden directory, so it does not sweep it either.
  await sweepStaleScratch(opts.scratchParent);
  if (!opts.ci) await sweepStaleTemps(opts.goldenRoot);
  const total = (instances.length + failures.length) * opts.engines.length;
  reporter.onRunStart({ total, engines: opts.engines, jobs: opts.jobs });

  const results: ScenarioResult[] = [];
  const emit = (r: ScenarioResult) => {
    results.push(r);
    reporter.onScenarioEnd(r);
  };
  for (const f of failures) for (const engine of opts.engines) emit(loadFailureResult(f, engine));

  const stopEarly = opts.bail && failures.length > 0;
  // An error that is no scenario's (no scratch directory can be made: the disk is full) stops the
  // run: nothing more starts, the runs in progress finish and clean up, then it is thrown.
  let fatal: { error: unknown } | undefined;
  const notRun = stopEarly
    ? instances.length * opts.engines.length
    : (await runPool(instances, opts.jobs, async (inst, control) => {
        try {
          const rs = await runInstance(inst, {
            ...opts,
            onStart: (id) => reporter.onScenarioStart(id),
          });
          rs.forEach(emit);
          if (opts.bail && rs.some((r) => r.status === "fail")) control.stop();
        } catch (error) {
          fatal ??= { error };
          control.stop();
        }
      })) * opts.engines.length;
  if (fatal) throw fatal.error;

  // The results are in: a golden directory that cannot be searched or pruned is reported after
  // them, and then ends the command with its error.
  let lateError: unknown;
  const fullRun = opts.paths.length === 0 && isUnfiltered(opts.selection);
  const orphans = fullRun ? await orphanGoldens(opts, all, failures).catch((e: unknown) => ((lateError = e), [])) : [];
  const pruned = orphans.length > 0 && opts.prune && !opts.ci;
  if (pruned) {
    for (const o of orphans) await removeIfExists(path.resolve(opts.cwd, o)).catch((e: unknown) => (lateError ??= e));
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

async function loadAll(
  files: readonly ScenarioFile[],
  opts: Pick<RunOptions, "cwd" | "loader">,
): Promise<{ instances: ScenarioInstance[]; failures: LoadFailure[] }> {
  const load = opts.loader ?? loadScenarioFile;
  const instances: ScenarioInstance[] = [];
  const failures: LoadFailure[] = [];
  for (const f of files) {
    const r = await load(f, opts.cwd);
    if (r.ok) instances.push(...r.instances);
    else failures.push(r.failure);
  }
  return { instances, failures };
}

function isUnfiltered(s: SelectionOptions): boolean {
  return s.tags.length === 0 && s.excludeTags.length === 0 && s.filter === undefined && s.shard === undefined;
}

/**
 * Goldens no scenario reads, given every scenario (a full run has loaded them all); a scenario that
 * does not load protects every golden of its name.
 */
async function orphanGoldens(opts: RunOptions, all: readonly ScenarioInstance[], failures: readonly LoadFailure[]): Promise<string[]> {
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
