/**
 * `copy-on-read`: a filter that always writes back what it reads, so it takes write-unchanged.
 * With `bottom` (as block-stream opens it) only the chain above that node is copied up, and the
 * links from the filter down to it are frozen while it is open (cor_open, cor_close).
 */
import { freezeBackingChain, unfreezeBackingChain } from "../chain.js";
import type { BdsNode } from "../graph.js";
import { dropFilter } from "../graph-replace.js";
import type { LayerState } from "../layer-state.js";
import { OpaqueSlot } from "../opaque.js";
import { BLK_PERM_CONSISTENT_READ, BLK_PERM_RESIZE, BLK_PERM_WRITE, BLK_PERM_WRITE_UNCHANGED } from "../perms.js";
import { fail } from "../qmp-failure.js";
import type { DriverDef } from "./driver.js";
import { FILTER_DEFAULTS, filteredLength, openFilteredFile } from "./filter.js";

const PASSTHROUGH = BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE | BLK_PERM_RESIZE;

/** BDRVStateCOR. */
interface CorState {
  bottomBs: BdsNode | null;
  chainFrozen: boolean;
}

const slot = new OpaqueSlot<CorState>("copy-on-read");

export const copyOnReadDriver: DriverDef = {
  ...FILTER_DEFAULTS,
  name: "copy-on-read",
  getLength: filteredLength,
  canCompress: true,

  /** `cor_open`. */
  open(ctx) {
    openFilteredFile(ctx);
    const state: CorState = { bottomBs: null, chainFrozen: false };
    slot.set(ctx.node, state);
    const bottom = ctx.options["bottom"];
    if (typeof bottom !== "string") return;
    delete ctx.options["bottom"];
    const bottomBs = ctx.host.findNode(bottom) ?? fail(`Bottom node '${bottom}' not found`);
    if (bottomBs.driver.isFilter) fail(`Bottom node '${bottom}' is a filter`);
    freezeBackingChain(ctx.node, bottomBs);
    state.chainFrozen = true;
    // The chain is frozen, so it cannot go; a reference is still worth holding.
    ctx.host.refNode(bottomBs);
    state.bottomBs = bottomBs;
  },

  /** `cor_close`. */
  close(node, host) {
    const state = slot.get(node);
    if (state.chainFrozen) {
      state.chainFrozen = false;
      unfreezeBackingChain(node, state.bottomBs);
    }
    if (state.bottomBs) host.unrefNode(state.bottomBs);
  },

  /** `cor_child_perm`: write-unchanged is always taken and always shared, whatever the parents share. */
  childPerm({ P, S }) {
    return [(P & PASSTHROUGH) | BLK_PERM_WRITE_UNCHANGED, (S & PASSTHROUGH) | BLK_PERM_WRITE_UNCHANGED];
  },
};

/** `bdrv_cor_filter_drop` (block/copy-on-read.h): unfreeze, then take the filter out of the graph. */
export function corFilterDrop(state: LayerState, cor: BdsNode): void {
  const s = slot.get(cor);
  if (s.chainFrozen) {
    s.chainFrozen = false;
    unfreezeBackingChain(cor, s.bottomBs);
  }
  dropFilter(state, cor);
}
