/**
 * A scenario has at most one title, and `tags` lists each tag once.
 */
import type { Location } from "../ast.js";
import { error, type Diagnostic } from "../diagnostic.js";
import type { Rule } from "./rule.js";

export const metadata: Rule = {
  name: "metadata",
  on: "source",
  check({ scenario }) {
    const out: Diagnostic[] = [];
    let title: Location | undefined;
    const tags = new Set<string>();
    for (const s of scenario.statements) {
      if (s.type === "title") {
        if (title) out.push(error("a scenario has one title", s.location, [`the title is set at line ${title.start.line}`]));
        else title = s.location;
      }
      if (s.type === "tags") {
        for (const t of s.tags) {
          if (tags.has(t.name)) out.push(error(`tag '${t.name}' is listed twice`, t.location));
          tags.add(t.name);
        }
      }
    }
    return out;
  },
};
