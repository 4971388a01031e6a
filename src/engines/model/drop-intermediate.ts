/**
 * `bdrv_drop_intermediate` (block.c): how a commit job ends. The nodes between `top` and `base` leave
 * the chain: every parent of `top` now uses `base`, and each overlay records base's filename (or
 * the job's backing-file string) as its backing file in its image header. Failures are only
 * printed by QEMU and make the job fail, so they come back as -errno.
 */
import { chainContains } from "./chain.js";
import { updateFilename } from "./change-backing.js";
import { bdrvSubtreeDrainedBegin, bdrvSubtreeDrainedEnd } from "./drain.js";
import { type BdsNode, inheritsFromRecursive, skipImplicitFilters } from "./graph.js";
import { bdrvRef, bdrvUnref } from "./graph-ops.js";
import { replaceNodeCommon } from "./graph-replace.js";
import type { LayerState } from "./layer-state.js";
import { QmpFailure } from "./qmp-failure.js";
import { FilenameCache } from "./query/filename.js";

const EIO = 5;

/** 0, or -errno. `top` is held until the end, so an implicit filter is freed only then. */
export function dropIntermediate(state: LayerState, top: BdsNode, base: BdsNode, backingFileStr: string | null): number {
  bdrvRef(top);
  const drained = bdrvSubtreeDrainedBegin(state, top);
  try {
    if (!chainContains(top, base)) return -EIO;
    // Nothing inherits from an implicit filter: the node it stands for counts.
    const explicitTop = skipImplicitFilters(top);
    const updateInheritsFrom = inheritsFromRecursive(base, explicitTop);
    const filename = backingFileStr ?? new FilenameCache().filename(base);
    // The parents as they were, oldest first (QEMU prepends them from its newest-first list).
    const updated = [...top.parents];
    try {
      replaceNodeCommon(state, top, base, false, false);
    } catch (e) {
      if (e instanceof QmpFailure) return -EIO;
      throw e;
    }
    for (const c of updated) {
      const ret = updateFilename(state, c, base, filename);
      if (ret < 0) return ret;
    }
    if (updateInheritsFrom) base.inheritsFrom = explicitTop.inheritsFrom;
    return 0;
  } finally {
    if (drained) bdrvSubtreeDrainedEnd(top);
    bdrvUnref(state, top);
  }
}
