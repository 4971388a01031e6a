/**
 * Model runs on worker threads: the model is synchronous JavaScript, so on one thread a run of many
 * scenarios runs one scenario at a time whatever -j says. Each worker loads every Nth scenario file
 * (parsing is a large part of a short scenario's cost), the runner selects among what they hold as
 * it would among its own instances, and each worker runs the selected instances it loaded. Results,
 * starts and pictures come back as messages, and the runner reports them as they arrive.
 */
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { BlockcheckError } from "../../errors.js";
import type { ScenarioFile } from "../discovery.js";
import type { LoadFailure } from "../load.js";
import type { ScenarioResult } from "../results.js";
import type { FromWorker, InstanceRef, ToWorker, WorkerErrorData, WorkerInit, WorkerRunOptions } from "./protocol.js";

/** Below this many scenario files per worker, starting the workers costs more than they save. */
export const FILES_PER_WORKER = 32;

/** How many workers a model run over `files` files at `jobs` should use; below 2 it runs on the runner's thread. */
export function workerCount(files: number, jobs: number): number {
  return Math.min(jobs, Math.floor(files / FILES_PER_WORKER));
}

export interface WorkerHandlers {
  onStart(id: string): void;
  onResults(results: ScenarioResult[]): void;
  onPictures(files: string[]): void;
}

/** A BlockcheckError a worker ended with, raised again on the runner's thread with its code. */
export class ModelWorkerError extends BlockcheckError {
  constructor(data: WorkerErrorData & { code: string }) {
    super(data.code, data.message);
    this.name = data.name;
    if (data.stack) this.stack = data.stack;
  }
}

/** The error a worker sent, as the runner raises it: anything but a BlockcheckError stays a bug. */
function workerError(data: WorkerErrorData): Error {
  if (data.code !== undefined) return new ModelWorkerError({ ...data, code: data.code });
  const e = new Error(data.message);
  e.name = data.name;
  if (data.stack) e.stack = data.stack;
  return e;
}

type Loaded = Extract<FromWorker, { type: "loaded" }>["files"];

/** One worker and whoever waits on it: for its files to load, then for its runs to be done. */
interface Lane {
  worker: Worker;
  handlers?: WorkerHandlers;
  loaded?: (files: Loaded) => void;
  done?: (notRun: number) => void;
  fail?: (e: Error) => void;
  /** How the worker failed, once it has: a later wait fails at once instead of never ending. */
  error?: Error;
}

export class ModelWorkers {
  readonly #lanes: Lane[];

  private constructor(lanes: Lane[]) {
    this.#lanes = lanes;
  }

  get count(): number {
    return this.#lanes.length;
  }

  /**
   * Start `count` workers over `files` (file i goes to worker i mod count) and wait until each has
   * loaded its files; instances and load failures come back in file order.
   */
  static async load(files: readonly ScenarioFile[], count: number, options: WorkerRunOptions): Promise<{ workers: ModelWorkers; instances: InstanceRef[]; failures: LoadFailure[] }> {
    const lanes = Array.from({ length: count }, (_, w) => startLane({ files: files.filter((_, i) => i % count === w), options }));
    const workers = new ModelWorkers(lanes);
    try {
      const loads = await Promise.all(lanes.map((lane) => wait<Loaded>(lane, (resolve) => (lane.loaded = resolve))));
      const instances: InstanceRef[] = [];
      const failures: LoadFailure[] = [];
      for (let i = 0; i < files.length; i++) {
        const f = loads[i % count]![Math.floor(i / count)]!;
        if ("failure" in f) failures.push(f.failure);
        else instances.push(...f.instances.map((inst) => ({ ...inst, worker: i % count })));
      }
      return { workers, instances, failures };
    } catch (e) {
      await workers.dispose();
      throw e;
    }
  }

  /**
   * Run `selected` (each on the worker that loaded it); resolves to the number never started. A
   * worker that fails stops the others, which finish the runs they are in; then its error is thrown.
   */
  async run(selected: readonly InstanceRef[], handlers: WorkerHandlers): Promise<number> {
    const runs = this.#lanes.map((lane, w) => {
      lane.handlers = handlers;
      const done = wait<number>(lane, (resolve) => (lane.done = resolve));
      if (!lane.error) send(lane, { type: "run", keys: selected.filter((i) => i.worker === w).map((i) => i.key) });
      return done.catch((e: unknown) => {
        this.stop();
        throw e;
      });
    });
    const settled = await Promise.allSettled(runs);
    const failed = settled.find((s) => s.status === "rejected");
    if (failed) throw failed.reason;
    return settled.reduce((sum, s) => sum + (s as PromiseFulfilledResult<number>).value, 0);
  }

  /** Start no further instances (--bail); the ones running finish. */
  stop(): void {
    for (const lane of this.#lanes) send(lane, { type: "stop" });
  }

  async dispose(): Promise<void> {
    await Promise.all(this.#lanes.map((l) => l.worker.terminate()));
  }
}

function send(lane: Lane, m: ToWorker): void {
  if (!lane.error) lane.worker.postMessage(m);
}

/** A promise settled by the lane's next `arm`ed answer, or rejected by its failure (past or to come). */
function wait<T>(lane: Lane, arm: (resolve: (v: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (lane.error) return reject(lane.error);
    arm(resolve);
    lane.fail = reject;
  });
}

function failLane(lane: Lane, e: Error): void {
  lane.error ??= e;
  lane.fail?.(lane.error);
}

function startLane(init: WorkerInit): Lane {
  const worker = spawnWorker(init);
  const lane: Lane = { worker };
  worker.on("message", (m: FromWorker) => {
    switch (m.type) {
      case "loaded":
        return lane.loaded?.(m.files);
      case "start":
        return lane.handlers?.onStart(m.id);
      case "results":
        return lane.handlers?.onResults(m.results);
      case "pictures":
        return lane.handlers?.onPictures(m.files);
      case "done":
        return lane.done?.(m.notRun);
      case "fatal":
        return failLane(lane, workerError(m.error));
    }
  });
  worker.on("error", (e) => failLane(lane, e));
  // After dispose() nothing waits any more, and a settled promise ignores the rejection.
  worker.on("exit", (code) => failLane(lane, new Error(`a model worker exited (code ${code}) before its runs were done`)));
  return lane;
}

/**
 * The worker module beside this one. Built, it is JavaScript; run from the TypeScript sources (the
 * tests), the worker has no loader for them, so it imports the module through tsx.
 */
function spawnWorker(init: WorkerInit): Worker {
  const here = import.meta.url;
  if (!here.endsWith(".ts")) return new Worker(new URL("./worker.js", here), { workerData: init });
  // The ES module entry of tsx's API (require.resolve would give its CommonJS one).
  const require = createRequire(here);
  const pkg = require.resolve("tsx/package.json");
  const api = (require(pkg) as { exports: Record<string, { import: { default: string } }> }).exports["./esm/api"]!.import.default;
  const tsx = pathToFileURL(path.join(path.dirname(pkg), api)).href;
  const entry = new URL("./worker.ts", here).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => m.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(here)}))`;
  return new Worker(boot, { eval: true, workerData: init });
}
