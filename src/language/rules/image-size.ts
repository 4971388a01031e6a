/**
 * An image's size is a number of bytes: qemu-img would take a negative one for an option on its
 * command line, so it is an error where it is written, even in a statement written to fail; so is
 * a parameter whose value is not a size.
 */
import { error, type Diagnostic } from "../diagnostic.js";
import { steps } from "../walk.js";
import type { Rule } from "./rule.js";

export const imageSizes: Rule = {
  name: "image-sizes",
  on: "expansion",
  check({ scenario }) {
    const out: Diagnostic[] = [];
    for (const s of steps(scenario)) {
      if (s.type !== "image") continue;
      // A parameter's value that is not a size (`each size in big`); an unknown one has its own error.
      if (s.size.type !== "number") {
        if (!s.size.value.startsWith("$")) out.push(error(`image size '${s.size.value}' is not a number of bytes`, s.size.location));
      } else if (s.size.value < 0) out.push(error(`image size ${s.size.raw} is negative`, s.size.location));
    }
    return out;
  },
};
