/**
 * `show graph NAME` names the SVG picture `run --pictures` writes as GOLDEN-STEM.NAME.svg, so two
 * pictures of one scenario may not share a name. Names are compared without regard to case: on a
 * case-insensitive file system (macOS, Windows) `A.svg` and `a.svg` are one file.
 */
import type { Location } from "../ast.js";
import { error, type Diagnostic } from "../diagnostic.js";
import type { Rule } from "./rule.js";

export const pictureNames: Rule = {
  name: "picture-names",
  on: "source",
  check({ scenario }) {
    const out: Diagnostic[] = [];
    const seen = new Map<string, { name: string; at: Location }>();
    for (const s of scenario.statements) {
      if (s.type !== "show" || !s.picture) continue;
      const key = s.picture.name.toLowerCase();
      const first = seen.get(key);
      if (first) {
        const same = first.name === s.picture.name ? "" : ` ('${first.name}': names differing only in case are one file on some systems)`;
        out.push(error(`duplicate picture name '${s.picture.name}'`, s.picture.location, [`first used at line ${first.at.start.line}${same}`]));
      } else {
        seen.set(key, { name: s.picture.name, at: s.picture.location });
      }
    }
    return out;
  },
};
