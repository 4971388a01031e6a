/** `copy-on-read`: a filter that always writes back what it reads, so it takes write-unchanged. */
import { PERM_CONSISTENT_READ, PERM_RESIZE, PERM_WRITE, PERM_WRITE_UNCHANGED } from "../perms.js";
import { ROLE_FILTERED, ROLE_PRIMARY } from "../roles.js";
import type { DriverDef } from "./driver.js";

const PASSTHROUGH = PERM_CONSISTENT_READ | PERM_WRITE | PERM_RESIZE;

export const copyOnReadDriver: DriverDef = {
  name: "copy-on-read",
  protocol: false,
  isFilter: true,
  isFormat: false,
  supportsBacking: false,
  supportsReopen: false,
  mutableOpts: [],
  reopenOpts: [],

  open(ctx) {
    const file = ctx.openChild("file", ROLE_FILTERED | ROLE_PRIMARY, false)!;
    ctx.node.size = file.bs.size;
  },

  /** `cor_child_perm`: write-unchanged is always taken and always shared, whatever the parents share. */
  childPerm({ P, S }) {
    return [(P & PASSTHROUGH) | PERM_WRITE_UNCHANGED, (S & PASSTHROUGH) | PERM_WRITE_UNCHANGED];
  },
};
