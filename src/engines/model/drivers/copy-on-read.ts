/** `copy-on-read`: a filter that always writes back what it reads, so it takes write-unchanged. */
import { PERM_WRITE_UNCHANGED } from "../perms.js";
import { ROLE_FILTERED, ROLE_PRIMARY } from "../roles.js";
import type { DriverDef } from "./driver.js";

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

  /** `cor_child_perm`. */
  childPerm({ P, S }) {
    return [P | PERM_WRITE_UNCHANGED, S];
  },
};
