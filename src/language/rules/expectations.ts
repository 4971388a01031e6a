/**
 * `-> ok` / `-> error …` only after a statement that sends a command, and a regex must compile.
 */
import type { Statement } from "../ast.js";
import { error, type Diagnostic } from "../diagnostic.js";
import { steps } from "../walk.js";
import type { Rule } from "./rule.js";

/** Statement types that send one command to the engine and so can fail. */
const CAN_FAIL: ReadonlySet<Statement["type"]> = new Set(["add", "reopen", "del", "export", "unexport", "iothread", "secret", "io", "qmp", "job", "job-verb"]);

export const expectations: Rule = {
  name: "expectations",
  on: "source",
  check({ scenario }) {
    const out: Diagnostic[] = [];
    // A Set, not includes(): a big file has hundreds of thousands of statements.
    const top = new Set<Statement>(scenario.statements);
    for (const s of [...scenario.statements, ...steps(scenario).filter((x) => !top.has(x))]) {
      const exp = s.expectation;
      if (!exp) continue;
      if (!CAN_FAIL.has(s.type)) {
        const notes = s.type === "graph" ? ["put the expectation on the line of the node it is about"] : [];
        out.push(error(`an expectation cannot apply to '${keyword(s)}'`, exp.location, notes));
        continue;
      }
      if (exp.type === "error" && exp.match.type === "regex") {
        try {
          new RegExp(exp.match.pattern, exp.match.flags);
        } catch (e) {
          out.push(error(`invalid regular expression: ${(e as Error).message.replace(/^Invalid regular expression: /, "")}`, exp.match.location));
        }
      }
    }
    return out;
  },
};

function keyword(s: Statement): string {
  return s.type === "title" ? "scenario" : s.type;
}
