/**
 * Where a scenario's golden transcript lives. `tests/scenarios/reopen/detach.scn` ↔
 * `golden/reopen/detach.out`; a parameterized run adds its values: `golden/reopen/detach.fmt=qcow2.out`;
 * an engine-specific golden (documented divergences only) inserts the engine: `detach.model.out`.
 */
import path from "node:path";

export type EngineName = "model" | "qemu";

export interface GoldenName {
  /** Scenario path relative to the scenario root, without `.scn`, with `/` separators. */
  name: string;
  /** Parameter suffix, e.g. `fmt=qcow2` ("" when the scenario has no parameters). */
  suffix: string;
}

/** The golden path shared by all engines, relative to the golden root. */
export function commonGoldenPath(g: GoldenName): string {
  return `${g.name}${g.suffix ? "." + g.suffix : ""}.out`;
}

/** The engine-specific golden path, relative to the golden root. */
export function engineGoldenPath(g: GoldenName, engine: EngineName): string {
  return `${g.name}${g.suffix ? "." + g.suffix : ""}.${engine}.out`;
}

/** The `.out.bad` beside a golden. */
export function badPath(goldenPath: string): string {
  return goldenPath + ".bad";
}

/** Scenario file (relative to the scenario root) → golden name stem. */
export function goldenStem(scenarioRelPath: string): string {
  return scenarioRelPath.split(path.sep).join("/").replace(/\.scn$/, "");
}
