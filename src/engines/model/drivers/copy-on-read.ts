/** `copy-on-read`: a filter that always writes back what it reads, so it takes write-unchanged. */
import { BLK_PERM_CONSISTENT_READ, BLK_PERM_RESIZE, BLK_PERM_WRITE, BLK_PERM_WRITE_UNCHANGED } from "../perms.js";
import type { DriverDef } from "./driver.js";
import { FILTER_DEFAULTS, filteredLength, openFilteredFile } from "./filter.js";

const PASSTHROUGH = BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE | BLK_PERM_RESIZE;

export const copyOnReadDriver: DriverDef = {
  ...FILTER_DEFAULTS,
  name: "copy-on-read",
  getLength: filteredLength,
  canCompress: true,

  open(ctx) {
    openFilteredFile(ctx);
  },

  /** `cor_child_perm`: write-unchanged is always taken and always shared, whatever the parents share. */
  childPerm({ P, S }) {
    return [(P & PASSTHROUGH) | BLK_PERM_WRITE_UNCHANGED, (S & PASSTHROUGH) | BLK_PERM_WRITE_UNCHANGED];
  },
};
