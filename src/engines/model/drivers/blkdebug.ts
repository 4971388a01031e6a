/** `blkdebug`: a protocol-style filter over `image`, with configurable extra and unshared child perms. */
import { defaultPerms } from "../child-perms.js";
import { nodeLength } from "../node-length.js";
import { OpaqueSlot } from "../opaque.js";
import { flatList } from "../options.js";
import { permsFromQapiList } from "../perms.js";
import { fail } from "../qmp-failure.js";
import { BDRV_CHILD_FILTERED, BDRV_CHILD_PRIMARY } from "../roles.js";
import type { DriverDef } from "./driver.js";

/** BDRVBlkdebugState, the part the model keeps. */
interface BlkdebugState {
  take: number;
  unshare: number;
  /** s->config_file ("" when none). */
  config: string;
}

const slot = new OpaqueSlot<BlkdebugState>("blkdebug");

/** Keys of full_open_options that still let blkdebug name itself "blkdebug:CONFIG:FILE". */
const PLAIN_KEYS = ["config", "image", "x-image", "driver"];

export const blkdebugDriver: DriverDef = {
  name: "blkdebug",
  protocol: true,
  isFilter: true,
  supportsBacking: false,
  mutableOpts: [],
  strongOpts: ["config", "inject-error.", "set-state.", "align", "max-transfer", "opt-write-zero", "max-write-zero", "opt-discard", "max-discard"],

  open(ctx) {
    const config = ctx.options["config"];
    slot.set(ctx.node, {
      take: permsFromQapiList(flatList(ctx.options, "take-child-perms")),
      unshare: permsFromQapiList(flatList(ctx.options, "unshare-child-perms")),
      config: typeof config === "string" ? config : "",
    });
    const image = ctx.openChild("image", BDRV_CHILD_FILTERED | BDRV_CHILD_PRIMARY, false)!;
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
    const st = slot.get(node);
    const [perm, shared] = defaultPerms(child.role, P, S, writable);
    return [perm | st.take, shared & ~st.unshare];
  },

  /** `blkdebug_reopen_prepare` accepts any reopen and takes no option. */
  reopenPrepare() {},

  /** `blkdebug_refresh_filename`: "blkdebug:CONFIG:IMAGE" while only plain options were given. */
  refreshFilename(node, { fullOpenOptionKeys, primaryExactFilename }) {
    if (!primaryExactFilename || !fullOpenOptionKeys.every((k) => PLAIN_KEYS.includes(k))) return "";
    return `blkdebug:${slot.get(node).config}:${primaryExactFilename}`;
  },
};
