/**
 * `commit_top` (block/commit.c `bdrv_commit_top`): the filter a commit job puts above the top node.
 * It reads from its backing child and asks nothing of it, sharing everything, so the chain below
 * may be written; its own users still get a consistent read. Not a blockdev-add driver (QEMU does
 * not register it): the commit job makes it, implicit unless `filter-node-name` names it.
 */
import { BLK_PERM_ALL } from "../perms.js";
import type { DriverDef } from "./driver.js";
import { FILTER_IO, keepsSizeHint } from "./filter.js";

export const commitTopDriver: DriverDef = {
  name: "commit_top",
  protocol: false,
  isFilter: true,
  // filtered_child_is_backing: its one child is called "backing" (with the FILTERED role).
  supportsBacking: false,
  mutableOpts: [],
  refreshedLength: keepsSizeHint,

  /** No .bdrv_open: the job attaches the child (bdrv_append). */
  open() {},

  /** `bdrv_commit_top_preadv`: the backing child. It has no write path: it is read-only. */
  preadv: FILTER_IO.preadv,

  /** `bdrv_commit_top_child_perm`. */
  childPerm() {
    return [0, BLK_PERM_ALL];
  },

  /** `bdrv_commit_top_refresh_filename`: the backing node's filename. */
  refreshFilename(_node, { primaryFilename }) {
    return primaryFilename;
  },
};
