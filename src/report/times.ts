/**
 * Previous run times (like qemu-iotests' check.time), kept in `.blockcheck/times.json` as
 * `{ "reopen/detach (model)": 12 }`. Read on every run; written after a run, except with CI set
 * (CI writes nothing) and when no time changed (a run the result cache answered reports the time
 * it kept). Only runs that ran (not skipped) are recorded; others keep their old time.
 */
import { readFile } from "node:fs/promises";
import { writeAtomic } from "../golden/store.js";
import type { ScenarioResult } from "../runner/results.js";

/** Times from the file; an absent or unreadable file means no previous times. */
export async function readTimes(file: string): Promise<Map<string, number>> {
  try {
    const data = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
    return new Map(Object.entries(data).filter((e): e is [string, number] => typeof e[1] === "number"));
  } catch {
    return new Map();
  }
}

/** Merge this run's times into the previous ones and write the file atomically, if one changed. */
export async function writeTimes(
  file: string,
  previous: ReadonlyMap<string, number>,
  results: readonly ScenarioResult[],
): Promise<boolean> {
  const merged = new Map(previous);
  let changed = false;
  for (const r of results) {
    if (r.status === "skip") continue;
    const ms = Math.round(r.durationMs);
    if (merged.get(r.id) !== ms) {
      merged.set(r.id, ms);
      changed = true;
    }
  }
  if (!changed) return false;
  const sorted = Object.fromEntries([...merged].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  await writeAtomic(file, JSON.stringify(sorted, null, 2) + "\n");
  return true;
}
