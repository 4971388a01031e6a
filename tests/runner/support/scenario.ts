/** Scenario instances from text, through the real language front end, for runner tests. */
import { formatDiagnostics, loadScenario, parseScenario } from "../../../src/language/index.js";
import { instancesOf } from "../../../src/runner/load.js";
import type { ScenarioInstance } from "../../../src/runner/instance.js";

/**
 * The instances of a scenario written inline; a scenario with diagnostics fails the test loudly.
 * `validate: false` only parses, to test what the runner does with statements the validator rejects.
 */
export function scenario(text: string, opts: { validate?: boolean } = {}, file = "tests/scenarios/t.scn"): ScenarioInstance[] {
  const loaded = opts.validate === false ? parseScenario(text, file) : loadScenario(text, file);
  if (loaded.diagnostics.length > 0) throw new Error(formatDiagnostics(loaded.diagnostics, text));
  return instancesOf(loaded.scenario, file, "t");
}
