/**
 * Drivers must be QEMU's: `add NAME: DRIVER`, inline children `(DRIVER …)`, and `image … FORMAT`.
 * A statement written to fail (`-> error …`) may name any driver, so QEMU's own error can be tested.
 */
import type { Identifier } from "../ast.js";
import { error, type Diagnostic } from "../diagnostic.js";
import { IMAGE_FORMATS } from "../schema.js";
import { expectsError, inlineChildren, steps } from "../walk.js";
import type { Rule } from "./rule.js";
import { suggest } from "./suggest.js";

export const unknownDriver: Rule = {
  name: "unknown-driver",
  on: "expansion",
  check({ scenario, schema }) {
    const drivers = new Set(schema.listDrivers());
    const out: Diagnostic[] = [];
    const checkDriver = (d: Identifier) => {
      if (!drivers.has(d.name)) out.push(error(`unknown driver '${d.name}'`, d.location, suggest(d.name, drivers)));
    };
    for (const s of steps(scenario)) {
      if (s.type === "image" && !IMAGE_FORMATS.includes(s.format.name)) {
        out.push(
          error(`unknown image format '${s.format.name}'`, s.format.location, [
            ...suggest(s.format.name, IMAGE_FORMATS),
            `image creates ${IMAGE_FORMATS.join(" or ")} files`,
          ]),
        );
      }
      if (s.type !== "add" || expectsError(s)) continue;
      checkDriver(s.driver);
      for (const c of inlineChildren(s.options)) checkDriver(c.driver);
    }
    return out;
  },
};
