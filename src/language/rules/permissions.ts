/**
 * `expect edge … perm=… shared=…` lists QAPI permission names (consistent-read, write,
 * write-unchanged, resize), each at most once.
 */
import type { EdgeSpec, Identifier } from "../ast.js";
import { error, type Diagnostic } from "../diagnostic.js";
import { PERMISSIONS } from "../schema.js";
import type { Rule } from "./rule.js";
import { suggest } from "./suggest.js";

export const permissionNames: Rule = {
  name: "permission-names",
  on: "source",
  check({ scenario }) {
    const out: Diagnostic[] = [];
    const checkList = (list: Identifier[] | undefined) => {
      const seen = new Set<string>();
      for (const p of list ?? []) {
        if (!PERMISSIONS.includes(p.name)) {
          out.push(
            error(`unknown permission '${p.name}'`, p.location, [
              ...suggest(p.name, PERMISSIONS),
              `permissions are ${PERMISSIONS.join(", ")}`,
            ]),
          );
        } else if (seen.has(p.name)) {
          out.push(error(`permission '${p.name}' is listed twice`, p.location));
        }
        seen.add(p.name);
      }
    };
    const checkEdge = (e: EdgeSpec) => {
      checkList(e.perm);
      checkList(e.shared);
    };
    for (const s of scenario.statements) {
      if (s.type !== "expect") continue;
      if (s.assertion.kind === "edge") checkEdge(s.assertion.edge);
      if (s.assertion.kind === "graph") s.assertion.edges.forEach(checkEdge);
    }
    return out;
  },
};
