/**
 * No two scenario runs may share a golden file: one would overwrite the other's on --update, and
 * --prune could not tell whose it is. The naming rule (paths.ts) makes this impossible for scenarios
 * found under the scenario root; this check catches whatever else could produce a name (a loader,
 * a future rule) before anything is run or written.
 */
import { GoldenCollisionError } from "./errors.js";
import { goldenPaths, type GoldenName } from "./paths.js";

export interface GoldenOwner extends GoldenName {
  /** How to name this run in an error, e.g. `tests/scenarios/y.scn [p=a]`. */
  label: string;
}

/** Throw a GoldenCollisionError naming both runs when two owners share any golden path. */
export function assertDistinctGoldens(owners: readonly GoldenOwner[]): void {
  const byPath = new Map<string, GoldenOwner>();
  for (const owner of owners) {
    for (const file of goldenPaths(owner)) {
      const other = byPath.get(file);
      if (other && other !== owner) throw new GoldenCollisionError(file, [other.label, owner.label]);
      byPath.set(file, owner);
    }
  }
}
