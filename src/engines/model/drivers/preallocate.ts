/** `preallocate`: a filter that grabs write+resize on its file while its users have both. */
import { PERM_RESIZE, PERM_WRITE } from "../perms.js";
import { ROLE_FILTERED, ROLE_PRIMARY } from "../roles.js";
import type { DriverDef } from "./driver.js";

const WR = PERM_WRITE | PERM_RESIZE;

export const preallocateDriver: DriverDef = {
  name: "preallocate",
  protocol: false,
  isFilter: true,
  isFormat: false,
  supportsBacking: false,
  supportsReopen: true,
  mutableOpts: [],
  reopenOpts: ["prealloc-align", "prealloc-size"],

  open(ctx) {
    const file = ctx.openChild("file", ROLE_FILTERED | ROLE_PRIMARY, false)!;
    ctx.node.size = file.bs.size;
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
