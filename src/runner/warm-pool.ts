/**
 * QEMU started ahead of need. A scenario on the qemu engine spends much of its wall time before its
 * first statement: a scratch directory, a QEMU process, its monitor handshake. While the current
 * scenarios run, the pool makes the scratch directory and starts the engine of each of the next
 * `depth` (= -j) scenarios in the queue, so that the start overlaps other work; when a lane takes the
 * scenario, its engine is up or nearly so.
 *
 * Isolation is unchanged: each scenario still gets its own fresh process in its own scratch directory,
 * started with the features that scenario needs, and idle until the scenario's first statement. A
 * process started ahead is a QemuProcess like any other (the reaper kills it on a signal, the
 * parent-death signal when the runner is SIGKILLed), its directory is removed on exit like any
 * scratch directory, and whatever the run does not take (--bail, an error that stops the run) is
 * stopped and removed by dispose().
 */
import type { Engine, EngineStartOptions } from "../engines/engine.js";
import type { ScenarioInstance } from "./instance.js";
import { neededFeatures } from "./requirements.js";
import type { EngineName } from "./results.js";
import { createScratch, removeScratch, type Scratch } from "./scratch.js";

/** A scenario's scratch directory and its engine, whose start() has begun. */
export interface Warmed {
  scratch: Scratch;
  /** The engine; its start() joins the start already under way. */
  engine: Engine;
}

export interface WarmPoolOptions {
  /** The engine kind started ahead (the one whose start is slow). */
  kind: EngineName;
  makeEngine: (kind: EngineName) => Engine;
  scratchParent?: string;
  keepScratch: boolean;
}

interface Slot {
  warmed: Promise<Warmed>;
  abort: AbortController;
}

export class WarmPool {
  readonly #instances: readonly ScenarioInstance[];
  readonly #depth: number;
  readonly #opts: WarmPoolOptions;
  readonly #slots = new Map<number, Slot>();
  /** Every index below this has been prepared or taken. */
  #next = 0;
  #disposed = false;

  constructor(instances: readonly ScenarioInstance[], depth: number, opts: WarmPoolOptions) {
    this.#instances = instances;
    this.#depth = Math.max(0, depth);
    this.#opts = opts;
  }

  /**
   * The warmed engine of instance `index`, if it was prepared (the first ones of a run are not: they
   * start at once anyway), and the preparation of the `depth` instances after it begins. Rejects
   * with what preparing failed with (a scratch directory that cannot be made stops the run).
   */
  async take(index: number): Promise<Warmed | undefined> {
    const slot = this.#slots.get(index);
    this.#slots.delete(index);
    this.#next = Math.max(this.#next, index + 1);
    for (; !this.#disposed && this.#next <= Math.min(index + this.#depth, this.#instances.length - 1); this.#next++) {
      this.#slots.set(this.#next, this.#prepare(this.#instances[this.#next]!));
    }
    return slot?.warmed;
  }

  /** Stop and remove what was prepared and never taken. */
  async dispose(): Promise<void> {
    this.#disposed = true;
    const left = [...this.#slots.values()];
    this.#slots.clear();
    await Promise.all(
      left.map(async ({ warmed, abort }) => {
        abort.abort();
        const w = await warmed.catch(() => undefined);
        if (!w) return;
        await w.engine.stop().catch(() => undefined);
        await removeScratch(w.scratch).catch(() => undefined);
      }),
    );
  }

  #prepare(inst: ScenarioInstance): Slot {
    const abort = new AbortController();
    const warmed = (async (): Promise<Warmed> => {
      const scratch = await createScratch(this.#opts.scratchParent, { keep: this.#opts.keepScratch });
      const engine = this.#opts.makeEngine(this.#opts.kind);
      const features = neededFeatures(inst.scenario);
      const started = engine.start({ workdir: scratch.dir, signal: abort.signal, features });
      // Observed by the scenario's own start() when it is taken; until then it must not count as unhandled.
      started.catch(() => undefined);
      return { scratch, engine: joinStart(engine, started, abort, scratch.dir) };
    })();
    warmed.catch(() => undefined);
    return { warmed, abort };
  }
}

/**
 * `engine`, whose start() returns the start begun ahead instead of starting again. The run's own
 * abort signal (its timeout) is passed on to the start's, which stops the engine as a start of its
 * own would.
 */
function joinStart(engine: Engine, started: Promise<void>, abort: AbortController, workdir: string): Engine {
  const start = (opts: EngineStartOptions): Promise<void> => {
    if (opts.workdir !== workdir) return Promise.reject(new Error(`warm engine started in ${workdir}, asked for ${opts.workdir}`));
    const onAbort = () => abort.abort();
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    return started;
  };
  return new Proxy(engine, {
    get(target, prop) {
      if (prop === "start") return start;
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
