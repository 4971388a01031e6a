/** `blkdebug`: a protocol-style filter over `image`, with configurable extra and unshared child perms. */
import { fail } from "../qmp-failure.js";
import { flatList } from "../options.js";
import { permsFromQapiList } from "../perms.js";
import { defaultPerms } from "../child-perms.js";
import { nodeLength } from "../node-length.js";
import { ROLE_FILTERED, ROLE_PRIMARY } from "../roles.js";
import type { DriverDef } from "./driver.js";

/** Driver state of a blkdebug node. */
interface BlkdebugState {
  take: number;
  unshare: number;
}

export const blkdebugDriver: DriverDef = {
  name: "blkdebug",
  protocol: true,
  isFilter: true,
  isFormat: false,
  supportsBacking: false,
  supportsReopen: true,
  mutableOpts: [],
  strongOpts: ["config", "inject-error.", "set-state.", "align", "max-transfer", "opt-write-zero", "max-write-zero", "opt-discard", "max-discard"],
  reopenOpts: [],

  open(ctx) {
    const st: BlkdebugState = {
      take: permsFromQapiList(flatList(ctx.options, "take-child-perms")),
      unshare: permsFromQapiList(flatList(ctx.options, "unshare-child-perms")),
    };
    ctx.node.state = st as unknown as Record<string, unknown>;
    const image = ctx.openChild("image", ROLE_FILTERED | ROLE_PRIMARY, false)!;
    ctx.node.size = nodeLength(image.bs);
    const align = ctx.options["align"];
    if (typeof align === "number") {
      if (align >= 2 ** 31 - 1 || align <= 0 || (align & (align - 1)) !== 0) {
        fail(`Cannot meet constraints with align ${align}`);
      }
      ctx.node.alignment = align;
    }
  },

  /** `blkdebug_child_perm`. */
  childPerm({ node, child, P, S, writable }) {
    const st = node.state as unknown as BlkdebugState;
    const [perm, shared] = defaultPerms(child.role, P, S, writable);
    return [perm | st.take, shared & ~st.unshare];
  },

  reopenPrepare() {
    return () => {};
  },
};
