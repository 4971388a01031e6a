/**
 * The order scenarios start in when they run in several lanes. In file order, a slow scenario that
 * happens to come last runs alone at the end while the other lanes wait: on the 245 corpus on QEMU,
 * the lanes ended 40–60 ms apart. Started slowest first, by the times of the last run (as vitest's
 * sequencer orders test files), the short ones fill the lanes in at the end (docs/performance.md,
 * seventh round).
 * A run without times (a fresh clone, CI) keeps file order; a scenario the last run did not time
 * starts first, since nothing says it is short.
 */
import type { ScenarioInstance } from "./instance.js";
import { resultId, type EngineName } from "./results.js";

export function slowestFirst<T extends Pick<ScenarioInstance, "name" | "suffix">>(
  instances: readonly T[],
  times: ReadonlyMap<string, number> | undefined,
  engines: readonly EngineName[],
): T[] {
  if (!times || times.size === 0) return [...instances];
  const cost = (inst: T) => engines.reduce((sum, engine) => sum + (times.get(resultId(inst.name, inst.suffix, engine)) ?? Infinity), 0);
  // Array.prototype.sort is stable: equal times keep file order.
  return instances
    .map((inst) => ({ inst, cost: cost(inst) }))
    .sort((a, b) => (a.cost === b.cost ? 0 : a.cost > b.cost ? -1 : 1))
    .map((x) => x.inst);
}
