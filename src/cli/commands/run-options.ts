/** Turning `blockcheck run` flags plus the configuration into run settings. Flags win. */
import os from "node:os";
import { UsageError } from "../../errors.js";
import type { BlockcheckConfig, EngineChoice } from "../../config/config.js";
import type { EngineName } from "../../runner/results.js";
import { isCi } from "../../runner/env.js";
import { parseShard, type SelectionOptions } from "../../runner/selection.js";

export interface RunFlags {
  engines: EngineName[];
  jobs: number;
  timeoutMs: number;
  selection: SelectionOptions;
}

/** CI mode — nothing written, a missing golden fails — with `--ci` or with CI set in the environment. */
export function ciMode(values: Record<string, unknown>, env: NodeJS.ProcessEnv): boolean {
  return values.ci === true || isCi(env);
}

/** Engines for `--engine model|qemu|both`. */
export function enginesFor(choice: string): EngineName[] {
  if (choice === "both") return ["model", "qemu"];
  if (choice === "model" || choice === "qemu") return [choice];
  throw new UsageError(`--engine must be model, qemu or both (got '${choice}')`);
}

/** Positive integer flag value. */
export function positiveInt(name: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1) throw new UsageError(`--${name} takes a positive integer (got '${text}')`);
  return n;
}

/** Settings from parsed flags and the configuration. */
export function runFlags(values: Record<string, unknown>, config: BlockcheckConfig): RunFlags {
  const engineChoice = (values.engine as string | undefined) ?? (config.engine as EngineChoice);
  const engines = enginesFor(engineChoice);
  const jobs = values.jobs !== undefined ? positiveInt("jobs", values.jobs as string) : (config.jobs ?? defaultJobs(engines));
  const timeoutS = values.timeout !== undefined ? positiveNumber("timeout", values.timeout as string) : config.timeout;
  const selection: SelectionOptions = {
    tags: (values.tag as string[] | undefined) ?? [],
    excludeTags: (values["exclude-tag"] as string[] | undefined) ?? [],
    ...(values.filter !== undefined ? { filter: values.filter as string } : {}),
    ...(values.shard !== undefined ? { shard: parseShard(values.shard as string) } : {}),
  };
  return { engines, jobs, timeoutMs: timeoutS * 1000, selection };
}

/**
 * Runs at once when neither -j nor the configuration says: one per core, and half as many again
 * when QEMU runs. A scenario on QEMU leaves its lane waiting on QEMU part of the time, so more
 * lanes than cores fill the CPUs: on 2 cores the whole corpus on QEMU took 7.7–8.2 s at -j 2,
 * 6.7–6.9 s at 3 and 4, 7.1 s at 6 and 8 (docs/performance.md). The model is one thread's work.
 */
export function defaultJobs(engines: readonly EngineName[]): number {
  const cores = os.availableParallelism();
  return engines.includes("qemu") ? cores + Math.ceil(cores / 2) : cores;
}

function positiveNumber(name: string, text: string): number {
  const n = Number(text);
  if (!(n > 0)) throw new UsageError(`--${name} takes a positive number of seconds (got '${text}')`);
  return n;
}
