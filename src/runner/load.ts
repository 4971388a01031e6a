/**
 * Scenario files → runnable instances (one per parameter value), or the diagnostics that stop a file
 * from running. The language front end is behind this one function so the runner can be tested with
 * scenarios built in memory. A scenario with no statements at all is refused here: it would run
 * nothing and pass against a golden holding one empty line.
 */
import { readFileSync } from "node:fs";
import { FileSystemError, isErrnoException } from "../file-errors.js";
import { decodeScenarioText, expandParameters, formatDiagnostics, loadScenario, ScenarioError, type Diagnostic } from "../language/index.js";
import { scenarioName, type ScenarioFile } from "./discovery.js";
import { metadataOf, type ScenarioInstance } from "./instance.js";
import type { LoadCache } from "./load-cache.js";
import { relativePath } from "../relative-path.js";

/** A file that cannot run: its diagnostics, formatted. */
export interface LoadFailure {
  file: string;
  name: string;
  message: string;
}

export type LoadResult = { ok: true; instances: ScenarioInstance[] } | { ok: false; failure: LoadFailure };

/** Loads one scenario file; injected so tests can supply scenarios without files. */
export type ScenarioLoader = (file: ScenarioFile, cwd: string) => Promise<LoadResult>;

/**
 * Parse, validate and expand one file with the scenario language; with a cache, a file whose load
 * it holds is read from there, and one that loads is put there (load-cache.ts).
 */
export const loadScenarioFile = async (file: ScenarioFile, cwd: string, cache?: LoadCache): Promise<LoadResult> => {
  const shown = relativePath(cwd, file.abs) || file.abs;
  const name = scenarioName(file.rel);
  let bytes: Uint8Array;
  try {
    // Synchronous: a scenario file is small, and the promise API's FileHandle (open, stat, read and
    // close as separate thread-pool calls) cost more than parsing the file, run after run.
    bytes = readFileSync(file.abs);
  } catch (e) {
    if (!isErrnoException(e)) throw e;
    // One unreadable file fails as a file that does not load; the others still run.
    return { ok: false, failure: { file: shown, name, message: new FileSystemError("read", shown, e).message } };
  }
  const key = cache?.key(shown, name, bytes);
  const cached = key === undefined ? undefined : cache!.get(key);
  if (cached) return { ok: true, instances: cached };
  let text = "";
  try {
    text = decodeScenarioText(bytes, shown);
    const loaded = loadScenario(text, shown);
    if (loaded.diagnostics.length > 0) {
      return { ok: false, failure: { file: shown, name, message: formatDiagnostics(loaded.diagnostics, text) } };
    }
    if (loaded.scenario.statements.length === 0) {
      return { ok: false, failure: { file: shown, name, message: formatDiagnostics([emptyScenario(shown)], text) } };
    }
    const instances = instancesOf(loaded.scenario, shown, name);
    if (key !== undefined) cache!.put(key, instances);
    return { ok: true, instances };
  } catch (e) {
    if (e instanceof ScenarioError) {
      return { ok: false, failure: { file: shown, name, message: formatDiagnostics(e.diagnostics, e.sourceText ?? text) } };
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

/** The diagnostic for a file with no statements, at its first line. */
function emptyScenario(file: string): Diagnostic {
  const at = { offset: 0, line: 1, column: 1 };
  return {
    severity: "error",
    message: "empty scenario: the file has no statements",
    location: { source: file, start: at, end: at },
    notes: ["a scenario needs at least one step to run; an empty one would pass with an empty golden"],
  };
}
