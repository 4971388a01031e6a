/**
 * A model worker: loads its share of the scenario files, tells the runner what they hold, then runs
 * the instances the runner selected, one at a time, exactly as the runner would on its own thread
 * (runInstance with a fresh ModelEngine each), and sends each result back as it comes.
 */
import { parentPort, workerData } from "node:worker_threads";
import { BlockcheckError } from "../../errors.js";
import { GoldenListing } from "../../golden/listing.js";
import { ModelEngine } from "../../engines/model/model-engine.js";
import type { ScenarioInstance } from "../instance.js";
import { loadScenarioFile } from "../load.js";
import { LoadCache } from "../load-cache.js";
import { runInstance } from "../run-instance.js";
import type { FileLoad, FromWorker, ToWorker, WorkerErrorData, WorkerInit } from "./protocol.js";

const port = parentPort!;
const init = workerData as WorkerInit;
const post = (m: FromWorker) => port.postMessage(m);

const instances: ScenarioInstance[] = [];
// A worker serves one run: its listing of golden directories is the run's.
const goldenListing = new GoldenListing();
let stopped = false;

port.on("message", (m: ToWorker) => {
  if (m.type === "stop") stopped = true;
  else void run(m.keys).catch(fatal);
});

load().catch(fatal);

async function load(): Promise<void> {
  const files: FileLoad[] = [];
  const cache = init.options.loadCache ? new LoadCache(init.options.loadCache) : undefined;
  for (const f of init.files) {
    const r = await loadScenarioFile(f, init.options.cwd, cache);
    if (!r.ok) {
      files.push({ failure: r.failure });
      continue;
    }
    files.push({ instances: r.instances.map(({ scenario: _, ...meta }, i) => ({ ...meta, key: instances.push(r.instances[i]!) - 1 })) });
  }
  post({ type: "loaded", files });
}

async function run(keys: readonly number[]): Promise<void> {
  const removals: Promise<void>[] = [];
  // As on the runner's thread: a directory that cannot be removed ends the run once the runs are done.
  let removalFailed: { error: unknown } | undefined;
  let next = 0;
  while (next < keys.length) {
    // A model run may never give the event loop a turn (its file I/O is synchronous): yield, so a
    // stop (--bail) sent meanwhile is seen before the next run starts.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (stopped) break;
    const inst = instances[keys[next++]!]!;
    const results = await runInstance(inst, {
      ...init.options,
      engines: ["model"],
      goldenListing,
      makeEngine: () => new ModelEngine(),
      deferRemoval: (removal) => void removals.push(removal.catch((error: unknown) => void (removalFailed ??= { error }))),
      onStart: (id) => post({ type: "start", id }),
      onPicturesWritten: (files) => post({ type: "pictures", files }),
    });
    post({ type: "results", results });
  }
  await Promise.all(removals);
  if (removalFailed) throw removalFailed.error;
  post({ type: "done", notRun: keys.length - next });
}

function fatal(e: unknown): void {
  const error: WorkerErrorData =
    e instanceof Error
      ? { name: e.name, message: e.message, ...(e.stack ? { stack: e.stack } : {}), ...(e instanceof BlockcheckError ? { code: e.code } : {}) }
      : { name: "Error", message: String(e) };
  post({ type: "fatal", error });
}
