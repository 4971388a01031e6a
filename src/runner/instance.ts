/** One runnable unit: a scenario file with one set of parameter values. */
import type { Scenario } from "../language/ast.js";

export interface ScenarioInstance {
  /** Scenario file as shown to the user (relative to the working directory). */
  file: string;
  /** Golden stem: path under the scenario root without `.scn` (`reopen/detach`). */
  name: string;
  /** Parameter suffix (`fmt=qcow2`), "" without parameters. */
  suffix: string;
  /** Parameter values in declaration order. */
  bindings: Array<[string, string]>;
  /** The scenario with parameters substituted. */
  scenario: Scenario;
  title?: string;
  tags: string[];
}

/** Title and tags from a scenario's metadata statements. */
export function metadataOf(scenario: Scenario): { title?: string; tags: string[] } {
  let title: string | undefined;
  const tags: string[] = [];
  for (const s of scenario.statements) {
    if (s.type === "title") title = s.title;
    if (s.type === "tags") tags.push(...s.tags.map((t) => t.name));
  }
  return title === undefined ? { tags } : { title, tags };
}
