/**
 * `io` needs an engine that can run qemu-io commands; a scenario that uses it says so with
 * `require io`, so engines without it skip the scenario instead of failing it.
 */
import { error, type Diagnostic } from "../diagnostic.js";
import { requiresFeature } from "./requirements.js";
import type { Rule } from "./rule.js";

export const ioNeedsRequire: Rule = {
  name: "io-needs-require",
  on: "expansion",
  check({ scenario }) {
    if (requiresFeature(scenario.statements, "io")) return [];
    const out: Diagnostic[] = [];
    for (const s of scenario.statements) {
      if (s.type === "io") out.push(error("'io' needs 'require io' in the scenario", s.location, ["add a line 'require io' near the top"]));
    }
    return out;
  },
};
