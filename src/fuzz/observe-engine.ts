/**
 * An engine seen from outside while the runner drives it: the crash it reported (with the command
 * it died in), any other error its methods threw, how stop() said it ended, and QEMU's pid. The
 * runner turns all of these into transcript lines and failure messages; the fuzzer needs them as
 * values to classify a case, so it watches the engine instead of parsing what the runner wrote.
 */
import type { Engine, EngineStopOutcome, ExitStatus } from "../engines/engine.js";
import { EngineCrashedError } from "../engines/errors.js";

export interface EngineObservation {
  /** The first crash an engine method reported: the command, and how QEMU ended. */
  crash?: { command: string; exit: ExitStatus | undefined; message: string };
  /** The first error other than a crash that an engine method threw. */
  error?: unknown;
  /** What stop() returned. */
  stop?: EngineStopOutcome;
  /** The QEMU process id, for an engine that has one (read after start). */
  pid?: number;
}

const WATCHED = new Set(["start", "createImage", "qmp", "waitEvent", "io", "stop"]);

/** `engine`, with what happens to it recorded in the returned observation. */
export function observeEngine(engine: Engine): { engine: Engine; seen: EngineObservation } {
  const seen: EngineObservation = {};
  const record = (e: unknown) => {
    if (e instanceof EngineCrashedError) seen.crash ??= { command: e.command, exit: e.exit, message: e.message };
    else if (seen.error === undefined) seen.error = e;
  };
  const watched = new Proxy(engine, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== "function") return value;
      if (typeof prop !== "string" || !WATCHED.has(prop)) return value.bind(target);
      return async (...args: unknown[]) => {
        try {
          const r = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          if (prop === "start") {
            const pid = (target as { pid?: unknown }).pid;
            if (typeof pid === "number") seen.pid = pid;
          }
          if (prop === "stop") seen.stop = r as EngineStopOutcome;
          return r;
        } catch (e) {
          record(e);
          throw e;
        }
      };
    },
  });
  return { engine: watched, seen };
}
