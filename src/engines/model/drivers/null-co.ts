/** `null-co`: a data sink with no children; its size defaults to 1 GiB. */
import type { DriverDef } from "./driver.js";

export const nullCoDriver: DriverDef = {
  name: "null-co",
  protocol: true,
  isFilter: false,
  isFormat: false,
  supportsBacking: false,
  supportsReopen: true,
  mutableOpts: [],
  strongOpts: ["size", "read-zeroes"],
  reopenOpts: [],

  open(ctx) {
    const size = ctx.options["size"];
    ctx.node.size = typeof size === "number" ? size : 1 << 30;
  },
};
