/** `null-co`: a data sink with no children; its size defaults to 1 GiB. */
import type { DriverDef } from "./driver.js";

/** Options that still let null-co name itself "null-co://" (`null_refresh_filename`). */
const PLAIN_KEYS = ["filename", "driver", "latency-ns"];

export const nullCoDriver: DriverDef = {
  name: "null-co",
  protocol: true,
  isFilter: false,
  supportsBacking: false,
  mutableOpts: [],
  strongOpts: ["size", "read-zeroes"],

  open(ctx) {
    const size = ctx.options["size"];
    ctx.node.size = typeof size === "number" ? size : 1 << 30;
  },

  /** `null_reopen_prepare` accepts any reopen and takes no option. */
  reopenPrepare() {},

  /** `null_allocated_file_size`. */
  getAllocatedFileSize() {
    return 0;
  },

  /** `null_refresh_filename`. */
  refreshFilename(_node, { fullOpenOptionKeys }) {
    return fullOpenOptionKeys.every((k) => PLAIN_KEYS.includes(k)) ? "null-co://" : "";
  },
};
