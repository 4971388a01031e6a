/**
 * `mirror_top` (block/mirror.c `bdrv_mirror_top`): the filter a mirror (or active commit) job puts
 * above its source. It passes its users' permissions down by the default rules; for an active
 * commit it neither takes consistent read (unshared above the base) nor stops others writing; once
 * the job stops it lets go of everything. Not a blockdev-add driver: the job makes it, implicit
 * unless `filter-node-name` names it, and tells it through `mirrorTopState` how to behave.
 */
import { defaultPerms } from "../child-perms.js";
import { childNamed } from "../graph.js";
import { OpaqueSlot } from "../opaque.js";
import { BLK_PERM_ALL, BLK_PERM_CONSISTENT_READ, BLK_PERM_WRITE } from "../perms.js";
import type { DriverDef } from "./driver.js";

/** MirrorBDSOpaque. */
export interface MirrorTopState {
  /** The job is stopping: nothing is forwarded to the real image any more. */
  stop: boolean;
  /** Active commit: the target is in the source's backing chain. */
  isCommit: boolean;
}

export const mirrorTopState = new OpaqueSlot<MirrorTopState>("mirror_top");

export const mirrorTopDriver: DriverDef = {
  name: "mirror_top",

  /** `bdrv_mirror_top_flush`: the source below, whatever the job lets through. */
  flushVia(node) {
    const backing = childNamed(node, "backing");
    return backing ? [backing.bs] : [];
  },
  protocol: false,
  isFilter: true,
  supportsBacking: false,
  mutableOpts: [],

  open() {},

  /** `bdrv_mirror_top_child_perm`. */
  childPerm({ node, child, P, S, writable }) {
    const s = mirrorTopState.get(node);
    if (s.stop) return [0, BLK_PERM_ALL];
    const [perm, shared] = defaultPerms(child.role, P, S, writable);
    if (!s.isCommit) return [perm, shared];
    return [perm & ~BLK_PERM_CONSISTENT_READ, shared | BLK_PERM_WRITE];
  },

  /** `bdrv_mirror_top_refresh_filename`. */
  refreshFilename(_node, { primaryFilename }) {
    return primaryFilename;
  },
};
