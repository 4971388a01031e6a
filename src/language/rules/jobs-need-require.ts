/**
 * Block jobs need an engine that runs them; a scenario that starts, acts on, waits for or inspects a
 * job says so with `require jobs`, so an engine without them skips the scenario with that reason
 * instead of failing it.
 */
import type { Statement } from "../ast.js";
import { error, type Diagnostic } from "../diagnostic.js";
import { steps } from "../walk.js";
import { requiresFeature } from "./requirements.js";
import type { Rule } from "./rule.js";

export const jobsNeedRequire: Rule = {
  name: "jobs-need-require",
  on: "expansion",
  check({ scenario }) {
    if (requiresFeature(scenario.statements, "jobs")) return [];
    const out: Diagnostic[] = [];
    for (const s of steps(scenario)) {
      const what = jobStatement(s);
      if (what) out.push(error(`'${what}' needs 'require jobs' in the scenario`, s.location, ["add a line 'require jobs' near the top"]));
    }
    return out;
  },
};

/** The keywords of a statement that needs block jobs, or undefined. */
function jobStatement(s: Statement): string | undefined {
  if (s.type === "job") return `job ${s.jobType}`;
  if (s.type === "job-verb") return `job ${s.verb}`;
  if (s.type === "wait" && s.target.kind === "job") return "wait";
  if (s.type === "expect" && s.assertion.kind === "job") return "expect job";
  return undefined;
}
