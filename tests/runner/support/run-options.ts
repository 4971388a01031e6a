/** RunOptions for a run on the model over a project in `dir` (tests/scenarios, golden), scratch directories in `dir`. */
import path from "node:path";
import { createEngine } from "../../../src/engines/factory/create.js";
import type { RunOptions } from "../../../src/runner/run-all.js";

export function modelRunOptions(dir: string, over: Partial<RunOptions> = {}): RunOptions {
  return {
    cwd: dir,
    scenarioRoot: path.join(dir, "tests/scenarios"),
    goldenRoot: path.join(dir, "golden"),
    paths: [],
    engines: ["model"],
    jobs: 2,
    timeoutMs: 10_000,
    bail: false,
    keepScratch: false,
    update: false,
    ci: false,
    prune: false,
    selection: { tags: [], excludeTags: [] },
    color: false,
    makeEngine: (kind) => createEngine(kind),
    reporters: [],
    scratchParent: dir,
    ...over,
  };
}
