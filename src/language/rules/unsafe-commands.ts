/**
 * A `qmp` command that can run a program on the host, or that takes free text able to name any
 * file (src/qapi/system-commands.ts says which), runs only in a scenario that says `require unsafe`
 * (and then only in a run with --allow-unsafe, which the runner checks).
 */
import { unsafeReason } from "../../qapi/system-commands.js";
import { error, type Diagnostic } from "../diagnostic.js";
import { steps } from "../walk.js";
import type { Rule } from "./rule.js";

export const unsafeCommands: Rule = {
  name: "unsafe-commands",
  on: "expansion",
  check({ scenario }) {
    const required = scenario.statements.some((s) => s.type === "require" && s.what.name === "unsafe");
    const out: Diagnostic[] = [];
    for (const s of steps(scenario)) {
      if (s.type !== "qmp" || required) continue;
      const reason = unsafeReason(s.command.name, s.args?.value);
      if (reason) {
        out.push(
          error(`qmp '${s.command.name}' is unsafe: ${reason}`, s.command.location, [
            "a scenario runs it only if it says 'require unsafe', and only in a run with --allow-unsafe",
          ]),
        );
      }
    }
    return out;
  },
};
