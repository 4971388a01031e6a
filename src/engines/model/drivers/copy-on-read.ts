/** `copy-on-read`: a filter that always writes back what it reads, so it takes write-unchanged. */
import { PERM_CONSISTENT_READ, PERM_RESIZE, PERM_WRITE, PERM_WRITE_UNCHANGED } from "../perms.js";
import type { DriverDef } from "./driver.js";
import { FILTER_DEFAULTS, filteredLength, openFilteredFile } from "./filter.js";

const PASSTHROUGH = PERM_CONSISTENT_READ | PERM_WRITE | PERM_RESIZE;

export const copyOnReadDriver: DriverDef = {
  ...FILTER_DEFAULTS,
  name: "copy-on-read",
  getLength: filteredLength,
  supportsReopen: false,

  open(ctx) {
    openFilteredFile(ctx);
  },

  /** `cor_child_perm`: write-unchanged is always taken and always shared, whatever the parents share. */
  childPerm({ P, S }) {
    return [(P & PASSTHROUGH) | PERM_WRITE_UNCHANGED, (S & PASSTHROUGH) | PERM_WRITE_UNCHANGED];
  },
};
