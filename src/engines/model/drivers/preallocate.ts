/** `preallocate`: a filter that grabs write+resize on its file while its users have both. */
import { PERM_RESIZE, PERM_WRITE } from "../perms.js";
import type { DriverDef } from "./driver.js";
import { FILTER_DEFAULTS, filteredLength, openFilteredFile } from "./filter.js";

const WR = PERM_WRITE | PERM_RESIZE;

export const preallocateDriver: DriverDef = {
  ...FILTER_DEFAULTS,
  name: "preallocate",
  getLength: filteredLength,
  supportsReopen: true,
  reopenOpts: ["prealloc-align", "prealloc-size"],

  open(ctx) {
    openFilteredFile(ctx);
  },

  /** `preallocate_child_perm`: keep file_end/data_end valid by not sharing write or resize. */
  childPerm({ P, S }) {
    if ((P & WR) === WR) return [P | WR, S & ~WR];
    return [P, S];
  },

  reopenPrepare() {
    return () => {};
  },
};
