/**
 * Scenario files → runnable instances (one per parameter value), or the diagnostics that stop a file
 * from running. The language front end is behind this one function so the runner can be tested with
 * scenarios built in memory.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { FileSystemError, isErrnoException } from "../file-errors.js";
import { expandParameters, formatDiagnostics, loadScenario, ScenarioError } from "../language/index.js";
import { scenarioName, type ScenarioFile } from "./discovery.js";
import { metadataOf, type ScenarioInstance } from "./instance.js";

/** A file that cannot run: its diagnostics, formatted. */
export interface LoadFailure {
  file: string;
  name: string;
  message: string;
}

export type LoadResult = { ok: true; instances: ScenarioInstance[] } | { ok: false; failure: LoadFailure };

/** Loads one scenario file; injected so tests can supply scenarios without files. */
export type ScenarioLoader = (file: ScenarioFile, cwd: string) => Promise<LoadResult>;

/** Parse, validate and expand one file with the scenario language. */
export const loadScenarioFile: ScenarioLoader = async (file, cwd) => {
  const shown = path.relative(cwd, file.abs) || file.abs;
  const name = scenarioName(file.rel);
  let text: string;
  try {
    text = await readFile(file.abs, "utf8");
  } catch (e) {
    if (!isErrnoException(e)) throw e;
    // One unreadable file fails as a file that does not load; the others still run.
    return { ok: false, failure: { file: shown, name, message: new FileSystemError("read", shown, e).message } };
  }
  try {
    const loaded = loadScenario(text, shown);
    if (loaded.diagnostics.length > 0) {
      return { ok: false, failure: { file: shown, name, message: formatDiagnostics(loaded.diagnostics, text) } };
    }
    return { ok: true, instances: instancesOf(loaded.scenario, shown, name) };
  } catch (e) {
    if (e instanceof ScenarioError) {
      return { ok: false, failure: { file: shown, name, message: formatDiagnostics(e.diagnostics, text) } };
    }
    throw e;
  }
};

/** One instance per parameter value of a loaded scenario. */
export function instancesOf(scenario: ScenarioInstance["scenario"], file: string, name: string): ScenarioInstance[] {
  return expandParameters(scenario).map((x) => ({
    file,
    name,
    suffix: x.suffix,
    bindings: Object.entries(x.bindings),
    scenario: x.scenario,
    ...metadataOf(x.scenario),
  }));
}
