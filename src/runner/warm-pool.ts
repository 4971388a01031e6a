/**
 * QEMU started ahead of need, and kept for the next scenario where that is proven safe. A scenario on
 * the qemu engine spends much of its wall time before its first statement: a scratch directory, a
 * QEMU process, its monitor handshake.
 *
 * - Every qemu run takes its engine, started with its scenario's features, from here. The pool
 *   holds engines ready by binary (poolKey): started ahead, or kept from a finished scenario.
 * - Looking `depth` (= -j) scenarios ahead, it starts the engines that the ready ones and those in
 *   use cannot supply, so that a start overlaps other work.
 * - A scenario that ends leaves its engine's successor here (Engine.successor) when the engine could
 *   prove its process back in the state of a fresh start (engines/qemu/reuse.ts). The successor
 *   runs in the same scratch directory, emptied, because QEMU resolves relative names against its
 *   working directory.
 * - Without reuse (--fresh-qemu, --keep-scratch), every scenario gets a fresh process, as does any
 *   scenario after one whose process could not be proven clean.
 *
 * A process started ahead or kept is a QemuProcess like any other: the reaper kills it on a signal,
 * the parent-death signal when the runner is SIGKILLed. Its directory is removed on exit like any
 * scratch directory, and whatever the run does not take is stopped and removed by dispose().
 */
import type { Engine, EngineFeature, EngineStartOptions } from "../engines/engine.js";
import type { ScenarioInstance } from "./instance.js";
import { neededFeatures, seesObjectOrder } from "./requirements.js";
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
  /** Engines may keep their process for a later scenario (default false: a fresh one for each). */
  reuse?: boolean;
}

interface Slot {
  warmed: Promise<Warmed>;
  abort: AbortController;
}

export class WarmPool {
  readonly #instances: readonly ScenarioInstance[];
  readonly #depth: number;
  readonly #opts: WarmPoolOptions;
  /** Engines started and not yet taken, by binary (poolKey). */
  readonly #ready = new Map<string, Slot[]>();
  /** Engines taken and not yet given back, by binary. */
  readonly #inUse = new Map<string, number>();
  /** The binary of each instance taken and not yet given back. */
  readonly #taken = new Map<number, string>();
  #disposed = false;

  constructor(instances: readonly ScenarioInstance[], depth: number, opts: WarmPoolOptions) {
    this.#instances = instances;
    this.#depth = Math.max(0, depth);
    this.#opts = opts;
  }

  /**
   * The engine for instance `index`: one that is ready for its binary, else one started now; and
   * the engines the next `depth` instances will lack are started. Rejects with what preparing failed
   * with (a scratch directory that cannot be made stops the run). Undefined after dispose().
   */
  async take(index: number): Promise<Warmed | undefined> {
    if (this.#disposed) return undefined;
    const { features, key } = this.#needs(index);
    const slot = this.#ready.get(key)?.shift() ?? this.#start(features, key);
    this.#taken.set(index, key);
    this.#inUse.set(key, (this.#inUse.get(key) ?? 0) + 1);
    this.#lookAhead(index);
    return slot.warmed;
  }

  /**
   * Instance `index` is done with its engine. `next`, if given, is the engine for a later scenario on
   * the same process and directory (Engine.successor); it is started now, so that its directory is
   * emptied before it is needed. Only the first call for an index counts.
   */
  giveBack(index: number, next?: Warmed): void {
    const key = this.#taken.get(index);
    if (key === undefined) {
      if (next) void discard(next);
      return;
    }
    this.#taken.delete(index);
    this.#inUse.set(key, this.#inUse.get(key)! - 1);
    if (!next) return;
    if (this.#disposed) return void discard(next);
    this.#readyList(key).push(this.#startGivenBack(next, this.#needs(index).features, key));
  }

  /** What instance `index` needs of its engine, and the pool its engine comes from. */
  #needs(index: number): { features: Set<EngineFeature>; key: string } {
    const scenario = this.#instances[index]!.scenario;
    const features = neededFeatures(scenario);
    return { features, key: poolKey(features, seesObjectOrder(scenario)) };
  }

  /** Stop and remove what was prepared or given back and never taken. */
  async dispose(): Promise<void> {
    this.#disposed = true;
    const left = [...this.#ready.values()].flat();
    this.#ready.clear();
    await Promise.all(
      left.map(async ({ warmed, abort }) => {
        // Aborted, an engine ends its process instead of keeping it.
        abort.abort();
        const w = await warmed.catch(() => undefined);
        if (w) await discard(w);
      }),
    );
  }

  /** Start engines for the next `depth` instances that neither the ready engines nor those in use will serve. */
  #lookAhead(index: number): void {
    const wanted = new Map<string, { count: number; features: Set<EngineFeature> }>();
    for (let i = index + 1; i <= Math.min(index + this.#depth, this.#instances.length - 1); i++) {
      const { features, key } = this.#needs(i);
      const w = wanted.get(key) ?? { count: 0, features };
      w.count++;
      wanted.set(key, w);
    }
    for (const [key, { count, features }] of wanted) {
      // An engine in use comes back for the next scenario of its kind only where processes are reused.
      const have = (this.#ready.get(key)?.length ?? 0) + (this.#opts.reuse ? (this.#inUse.get(key) ?? 0) : 0);
      for (let n = have; n < count; n++) this.#readyList(key).push(this.#start(features, key));
    }
  }

  #readyList(key: string): Slot[] {
    let list = this.#ready.get(key);
    if (!list) this.#ready.set(key, (list = []));
    return list;
  }

  #start(features: ReadonlySet<EngineFeature>, key: string): Slot {
    const abort = new AbortController();
    const warmed = (async (): Promise<Warmed> => {
      const scratch = await createScratch(this.#opts.scratchParent, { keep: this.#opts.keepScratch });
      return this.#begin({ scratch, engine: this.#opts.makeEngine(this.#opts.kind) }, features, key, abort);
    })();
    warmed.catch(() => undefined);
    return { warmed, abort };
  }

  #startGivenBack(next: Warmed, features: ReadonlySet<EngineFeature>, key: string): Slot {
    const abort = new AbortController();
    const warmed = Promise.resolve(this.#begin(next, features, key, abort));
    return { warmed, abort };
  }

  #begin({ scratch, engine }: Warmed, features: ReadonlySet<EngineFeature>, key: string, abort: AbortController): Warmed {
    const objectOrder = key.endsWith(OBJECT_ORDER_KEY);
    const started = engine.start({ workdir: scratch.dir, signal: abort.signal, features, reusable: this.#opts.reuse === true, objectOrder });
    // Observed by the scenario's own start() when it is taken; until then it must not count as unhandled.
    started.catch(() => undefined);
    return { scratch, engine: joinStart(engine, started, abort, scratch.dir) };
  }
}

/**
 * Which engines can serve a scenario. Of the features, only `io` changes how the qemu engine starts
 * (qemu-system instead of qemu-storage-daemon, qemu-engine.ts); every other one it has either way.
 * A scenario that sees the order of QOM's /objects gets its engines from a pool of their own, whose
 * processes never had an object added (reuse.ts); a process that did goes on only in the others.
 */
function poolKey(features: ReadonlySet<EngineFeature>, objectOrder: boolean): string {
  return (features.has("io") ? "io" : "") + (objectOrder ? OBJECT_ORDER_KEY : "");
}

const OBJECT_ORDER_KEY = "+objects";

/** End an engine that no scenario will take, and remove its directory. */
async function discard(w: Warmed): Promise<void> {
  await w.engine.stop().catch(() => undefined);
  await w.engine.successor?.(false).catch(() => undefined);
  await removeScratch(w.scratch).catch(() => undefined);
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
