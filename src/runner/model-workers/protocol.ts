/**
 * The messages between the runner and its model workers (pool.ts, worker.ts). Everything crossing
 * the thread boundary is structured-cloned: plain data only, no functions, no class instances.
 */
import type { ScenarioFile } from "../discovery.js";
import type { ScenarioInstance } from "../instance.js";
import type { LoadFailure } from "../load.js";
import type { LoadCacheConfig } from "../load-cache.js";
import type { ScenarioResult } from "../results.js";

/** The run options a worker needs: RunOptions without its callbacks, engines and reporters. */
export interface WorkerRunOptions {
  cwd: string;
  projectRoot?: string;
  goldenRoot: string;
  timeoutMs: number;
  keepScratch: boolean;
  update: boolean;
  ci: boolean;
  color: boolean;
  scratchParent?: string;
  runId: string;
  allowUnsafe: boolean;
  pictures: boolean;
  loadCache?: LoadCacheConfig;
}

export interface WorkerInit {
  /** The scenario files this worker loads, and later runs the instances of. */
  files: ScenarioFile[];
  options: WorkerRunOptions;
}

/** An instance as the main thread sees it: everything but the scenario, which stays in its worker. */
export type InstanceRef = Omit<ScenarioInstance, "scenario"> & { worker: number; key: number };

/** One file's outcome, in the order of WorkerInit.files. */
export type FileLoad = { instances: Omit<InstanceRef, "worker">[] } | { failure: LoadFailure };

/** An error that ended a worker's part of the run, as it can cross the boundary. */
export interface WorkerErrorData {
  name: string;
  message: string;
  stack?: string;
  /** Set when it was a BlockcheckError: the CLI reports it as one. */
  code?: string;
}

export type ToWorker = { type: "run"; keys: number[] } | { type: "stop" };

export type FromWorker =
  | { type: "loaded"; files: FileLoad[] }
  | { type: "start"; id: string }
  | { type: "results"; results: ScenarioResult[] }
  | { type: "pictures"; files: string[] }
  | { type: "done"; notRun: number }
  | { type: "fatal"; error: WorkerErrorData };
