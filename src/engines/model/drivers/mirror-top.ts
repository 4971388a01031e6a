/**
 * `mirror_top` (block/mirror.c `bdrv_mirror_top`): the filter a mirror (or active commit) job puts
 * above its source. It passes its users' permissions down by the default rules; for an active
 * commit it neither takes consistent read (unshared above the base) nor stops others writing; once
 * the job stops it lets go of everything. Not a blockdev-add driver: the job makes it, implicit
 * unless `filter-node-name` names it, and tells it through `mirrorTopState` how to behave.
 */
import { defaultPerms } from "../child-perms.js";
import { bdrvPdiscard, bdrvPwritev, bdrvPwriteZeroes } from "../data/block-io.js";
import type { Data } from "../data/data.js";
import { type BdsNode, childNamed } from "../graph.js";
import { OpaqueSlot } from "../opaque.js";
import { BLK_PERM_ALL, BLK_PERM_CONSISTENT_READ, BLK_PERM_WRITE } from "../perms.js";
import type { DriverDef, DriverHost } from "./driver.js";
import { FILTER_IO, keepsSizeHint } from "./filter.js";

/** How a write through the filter changes the source: `mirror_method`. */
export type MirrorMethod = "copy" | "zero" | "discard";

/** What the filter asks of its job (MirrorBDSOpaque.job). */
export interface MirrorTopJob {
  /** `copy_to_target`: the job is write-blocking, not cancelled, and has not failed. */
  copiesWrites(): boolean;
  /** `do_sync_target_write`: the same write, as far as the job's bitmap lets it, to the target. */
  syncTargetWrite(method: MirrorMethod, offset: number, bytes: number, data: Data | null, flags: number): void;
}

/** MirrorBDSOpaque. */
export interface MirrorTopState {
  /** The job is stopping: nothing is forwarded to the real image any more. */
  stop: boolean;
  /** Active commit: the target is in the source's backing chain. */
  isCommit: boolean;
  /** The job, from its creation until mirror_exit_common. */
  job: MirrorTopJob | null;
}

/**
 * `bdrv_mirror_top_do_write`: the write goes to the source below; a write-blocking job then
 * copies it to the target before the write completes. A failed source write is not copied.
 */
function topWrite(host: DriverHost, node: BdsNode, method: MirrorMethod, offset: number, bytes: number, data: Data | null, flags: number): void {
  const job = mirrorTopState.get(node).job;
  const copyToTarget = job?.copiesWrites() ?? false;
  const below = childNamed(node, "backing")!.bs;
  if (method === "copy") bdrvPwritev(host, below, offset, data!, flags);
  else if (method === "zero") bdrvPwriteZeroes(host, below, offset, bytes, flags);
  else bdrvPdiscard(host, below, offset, bytes);
  if (copyToTarget) job!.syncTargetWrite(method, offset, bytes, data, flags);
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
  refreshedLength: keepsSizeHint,

  open() {},

  /** `bdrv_mirror_top_preadv`: the source below. */
  preadv: FILTER_IO.preadv,
  pwritev(host, node, offset, data, flags) {
    topWrite(host, node, "copy", offset, data.length, data, flags);
  },
  pwriteZeroes(host, node, offset, bytes, flags) {
    topWrite(host, node, "zero", offset, bytes, null, flags);
  },
  pdiscard(host, node, offset, bytes) {
    topWrite(host, node, "discard", offset, bytes, null, 0);
  },

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
