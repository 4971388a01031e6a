/**
 * Scenario files as vitest tests: one `it` per scenario instance and engine, checked against the
 * goldens exactly as `blockcheck run` checks them, but never writing anything (CI mode): a mismatch
 * or a missing golden fails with the message and diff. vitest's `describe`/`it` are passed in, so
 * this module does not depend on vitest.
 *
 *   const suite = await loadScenarioSuite({ cwd });
 *   defineScenarioTests(suite, "model", { describe, it });
 *   describeWithQemu("scenarios on qemu", () => defineScenarioTests(suite, "qemu", { describe, it }));
 */
import path from "node:path";
import { stripVTControlCharacters } from "node:util";
import { createEngine } from "../engines/factory/create.js";
import { renderFailure } from "../report/console.js";
import { discoverAll } from "../runner/discovery.js";
import type { ScenarioInstance } from "../runner/instance.js";
import { loadScenarioFile, type LoadFailure } from "../runner/load.js";
import type { EngineName } from "../runner/results.js";
import { runInstance } from "../runner/run-instance.js";
import { displayName } from "../runner/selection.js";

export interface ScenarioSuite {
  cwd: string;
  goldenRoot: string;
  instances: ScenarioInstance[];
  failures: LoadFailure[];
  timeoutMs: number;
}

/** The subset of vitest's API the helper uses. */
export interface TestApi {
  describe(name: string, body: () => void): void;
  it(name: string, body: (ctx: { skip(note?: string): void }) => Promise<void>, timeout?: number): void;
}

/** Discover and load every scenario (once; shared by the engines' suites). */
export async function loadScenarioSuite(opts: {
  cwd: string;
  scenarioRoot?: string;
  goldenRoot?: string;
  timeoutMs?: number;
}): Promise<ScenarioSuite> {
  const scenarioRoot = opts.scenarioRoot ?? path.join(opts.cwd, "tests/scenarios");
  const instances: ScenarioInstance[] = [];
  const failures: LoadFailure[] = [];
  for (const f of await discoverAll(scenarioRoot)) {
    const r = await loadScenarioFile(f, opts.cwd);
    if (r.ok) instances.push(...r.instances);
    else failures.push(r.failure);
  }
  return {
    cwd: opts.cwd,
    goldenRoot: opts.goldenRoot ?? path.join(opts.cwd, "golden"),
    instances,
    failures,
    timeoutMs: opts.timeoutMs ?? 60_000,
  };
}

/** Register one test per instance for `engine`, plus one failing test per file that does not load. */
export function defineScenarioTests(suite: ScenarioSuite, engine: EngineName, api: TestApi): void {
  api.describe(`scenarios (${engine})`, () => {
    for (const f of suite.failures) {
      api.it(f.name, async () => {
        throw new Error(`${f.file} does not load:\n${f.message}`);
      });
    }
    for (const inst of suite.instances) {
      api.it(
        displayName(inst),
        async (ctx) => {
          const [result] = await runInstance(inst, {
            cwd: suite.cwd,
            goldenRoot: suite.goldenRoot,
            engines: [engine],
            timeoutMs: suite.timeoutMs,
            keepScratch: false,
            // The failure message carries the diff; test runs leave nothing behind.
            keepFailed: false,
            update: false,
            ci: true,
            color: false,
            makeEngine: (kind) => createEngine(kind),
          });
          if (result!.status === "skip") return ctx.skip(result!.skipReason);
          if (result!.status === "fail") throw new Error(stripVTControlCharacters(renderFailure(result!)));
        },
        suite.timeoutMs + 5_000,
      );
    }
  });
}
