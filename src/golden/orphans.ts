/**
 * Goldens without a scenario: every `.out` under the golden root that no scenario run would read.
 * Reported on every full run; `--prune` removes them.
 */
import path from "node:path";
import { walk } from "./accept.js";
import { goldenPaths, type GoldenName } from "./paths.js";

/** Golden files (absolute, sorted) that belong to none of `known`. */
export async function findOrphanGoldens(goldenRoot: string, known: readonly GoldenName[]): Promise<string[]> {
  const expected = new Set<string>();
  for (const g of known) for (const p of goldenPaths(g)) expected.add(p);
  const orphans: string[] = [];
  await walk(goldenRoot, (f) => {
    if (!f.endsWith(".out")) return;
    const rel = path.relative(goldenRoot, f).split(path.sep).join("/");
    if (!expected.has(rel)) orphans.push(f);
  });
  return orphans.sort();
}
