/**
 * Files in the golden root that belong to no scenario run: goldens (`.out`) that no scenario reads,
 * pending files (`.out.bad`, `.out.new`) whose golden is not one of those, pictures (`STEM.KEY.svg`,
 * picture/picture-files.ts) whose golden `STEM.out` is not one of those, and provenance records
 * left without their pending file. Reported on every full run; `--prune` removes them (a pending
 * file with its record: see removeOrphan).
 */
import { relativeSlashed } from "../relative-path.js";
import { goldenPaths, type GoldenName } from "./paths.js";
import { goldenOfPending, pendingKindOf, recordPath } from "./pending.js";
import { removeIfExists } from "./store.js";
import { walk } from "./walk.js";

/** Golden files (absolute, sorted) that belong to none of `known`. */
export async function findOrphanGoldens(goldenRoot: string, known: readonly GoldenName[]): Promise<string[]> {
  const expected = new Set<string>();
  for (const g of known) for (const p of goldenPaths(g)) expected.add(p);
  const files = new Set<string>();
  await walk(goldenRoot, (f) => files.add(f));
  const rel = (f: string) => relativeSlashed(goldenRoot, f);
  const orphans: string[] = [];
  for (const f of files) {
    if (f.endsWith(".out")) {
      if (!expected.has(rel(f))) orphans.push(f);
      continue;
    }
    if (f.endsWith(".svg")) {
      // A picture key holds no dot, so the stem is everything before the last one.
      const stem = rel(f).slice(0, -".svg".length);
      const dot = stem.lastIndexOf(".");
      if (dot < 0 || !expected.has(`${stem.slice(0, dot)}.out`)) orphans.push(f);
      continue;
    }
    if (pendingKindOf(f)) {
      if (!expected.has(rel(goldenOfPending(f)))) orphans.push(f);
      continue;
    }
    // A provenance record whose pending file is gone (one beside an orphan goes with it).
    const owner = f.endsWith(".json") ? f.slice(0, -".json".length) : undefined;
    if (owner && pendingKindOf(owner) && !files.has(owner)) orphans.push(f);
  }
  return orphans.sort();
}

/** Remove an orphan found by findOrphanGoldens (a pending file with its record). */
export async function removeOrphan(file: string): Promise<void> {
  if (pendingKindOf(file)) await removeIfExists(recordPath(file));
  await removeIfExists(file);
}
