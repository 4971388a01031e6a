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
  const jobs = values.jobs !== undefined ? positiveInt("jobs", values.jobs as string) : (config.jobs ?? os.availableParallelism());
  const timeoutS = values.timeout !== undefined ? positiveNumber("timeout", values.timeout as string) : config.timeout;
  const selection: SelectionOptions = {
    tags: (values.tag as string[] | undefined) ?? [],
    excludeTags: (values["exclude-tag"] as string[] | undefined) ?? [],
    ...(values.filter !== undefined ? { filter: values.filter as string } : {}),
    ...(values.shard !== undefined ? { shard: parseShard(values.shard as string) } : {}),
  };
  return { engines: enginesFor(engineChoice), jobs, timeoutMs: timeoutS * 1000, selection };
}

function positiveNumber(name: string, text: string): number {
  const n = Number(text);
  if (!(n > 0)) throw new UsageError(`--${name} takes a positive number of seconds (got '${text}')`);
  return n;
}
