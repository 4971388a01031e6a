/**
 * The model is synchronous JavaScript: a command that never returns (a loop in the model that makes
 * no progress, where QEMU would crash, spin or move on) holds the thread it runs on, and with it
 * every timer that would end the scenario. Nothing on that thread can notice. So the first model
 * engine a thread starts also starts a watchdog thread, which the model's thread tells, through
 * shared memory, which command it is in and that its event loop still turns. When the loop has not
 * turned for `limitMs`, the watchdog says where the model is stuck and kills the process: QEMU
 * processes die with it (die-with-parent.ts), and the next run clears the scratch directories
 * (scratch.ts), so a model bug ends the run with a located error instead of hanging it.
 */
import { url as inspectorUrl } from "node:inspector";
import { Worker } from "node:worker_threads";

/** How long the model's thread may go without a turn of its event loop. */
export const DEFAULT_WATCHDOG_LIMIT_MS = 120_000;
/** Bytes of the "what the model is doing" label kept in shared memory. */
const LABEL_BYTES = 1024;
const BEAT_MS = 250;

// The watchdog's own code: it runs on a thread of its own and shares no module with the model.
const WATCHDOG_SOURCE = `
const { workerData } = require("node:worker_threads");
const { writeSync } = require("node:fs");
const { shared, limitMs } = workerData;
const beat = new Float64Array(shared, 0, 1);
const length = new Int32Array(shared, 8, 1);
const label = new Uint8Array(shared, 12);
const nap = new Int32Array(new SharedArrayBuffer(4));
const step = Math.min(1000, Math.max(50, limitMs / 4));
// Stillness is counted in the watchdog's own wake-ups, each worth at most two steps: a process
// that was stopped (a suspended job, a sleeping laptop) is not taken for a stuck one on waking.
let seen = beat[0], still = 0, before = Date.now();
for (;;) {
  Atomics.wait(nap, 0, 0, step);
  const now = Date.now();
  if (beat[0] !== seen) {
    seen = beat[0];
    still = 0;
  } else {
    still += Math.min(now - before, 2 * step);
  }
  before = now;
  if (still < limitMs) continue;
  const what = Buffer.from(label.subarray(0, Math.max(0, Math.min(Atomics.load(length, 0), label.length)))).toString("utf8");
  writeSync(2, "blockcheck: internal error (this is a bug): the model engine has not returned for " +
    Math.round(still / 1000) + " s" + (what ? " in " + what : "") + " (a loop in the model that never ends); the run is killed\\n");
  process.kill(process.pid, "SIGKILL");
}
`;

interface Watchdog {
  label: Uint8Array;
  length: Int32Array;
}

// Kept on the thread's global object, not in this module: a test runner that loads the module
// afresh in the same thread must not start a second watchdog thread.
const KEY = Symbol.for("blockcheck.modelWatchdog");
const slot = globalThis as { [KEY]?: Watchdog };
const encoder = new TextEncoder();

/**
 * Start the watchdog for this thread (once; later calls do nothing). The heartbeat timer and the
 * watchdog thread are unref'd: neither keeps the process alive. BLOCKCHECK_MODEL_WATCHDOG_MS sets
 * the limit (tests/runner/watchdog.test.ts).
 */
export function startModelWatchdog(limitMs: number = watchdogLimitFromEnv()): void {
  // A debugger paused in the model stops the event loop too: never kill a process being debugged.
  if (slot[KEY] || inspectorUrl() !== undefined) return;
  const shared = new SharedArrayBuffer(12 + LABEL_BYTES);
  const beat = new Float64Array(shared, 0, 1);
  beat[0] = Date.now();
  setInterval(() => {
    beat[0] = Date.now();
  }, BEAT_MS).unref();
  const worker = new Worker(WATCHDOG_SOURCE, { eval: true, workerData: { shared, limitMs } });
  worker.unref();
  slot[KEY] = { label: new Uint8Array(shared, 12), length: new Int32Array(shared, 8, 1) };
}

/**
 * Say what the model's thread is doing (who the engine works for, and the command): the watchdog
 * names it if the model never returns.
 */
export function noteModelWork(label: string | undefined, command: string): void {
  const watchdog = slot[KEY];
  if (!watchdog) return;
  const { written } = encoder.encodeInto(label ? `${label}: '${command}'` : `'${command}'`, watchdog.label);
  Atomics.store(watchdog.length, 0, written);
}

/** BLOCKCHECK_MODEL_WATCHDOG_MS, when set to a positive number, else the default. */
function watchdogLimitFromEnv(): number {
  const ms = Number(process.env.BLOCKCHECK_MODEL_WATCHDOG_MS);
  return Number.isFinite(ms) && ms > 0 ? ms : DEFAULT_WATCHDOG_LIMIT_MS;
}
