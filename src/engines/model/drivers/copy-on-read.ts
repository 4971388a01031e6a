/**
 * `copy-on-read`: a filter that always writes back what it reads, so it takes write-unchanged.
 * With `bottom` (as block-stream opens it) only the chain above that node is copied up, and the
 * links from the filter down to it are frozen while it is open (cor_open, cor_close).
 */
import { backingChainNext, freezeBackingChain, unfreezeBackingChain } from "../chain.js";
import { bdrvPreadv } from "../data/block-io.js";
import { bdrvIsAllocated, bdrvIsAllocatedAbove } from "../data/block-status.js";
import { Data } from "../data/data.js";
import { BDRV_REQ_COPY_ON_READ, BDRV_REQ_PREFETCH } from "../data/request-flags.js";
import { type BdsNode, filteredChild } from "../graph.js";
import { bdrvUnref } from "../graph-ops.js";
import { dropFilter } from "../graph-replace.js";
import type { LayerState } from "../layer-state.js";
import { OpaqueSlot } from "../opaque.js";
import { BLK_PERM_CONSISTENT_READ, BLK_PERM_RESIZE, BLK_PERM_WRITE, BLK_PERM_WRITE_UNCHANGED } from "../perms.js";
import { QemuAbort } from "../qemu-would-crash.js";
import { fail } from "../qmp-failure.js";
import type { DriverDef } from "./driver.js";
import { FILTER_DEFAULTS, FILTER_IO, filteredLength, filteredSupportsZeroUnmap, openFilteredFile, passCompressed } from "./filter.js";

const PASSTHROUGH = BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE | BLK_PERM_RESIZE;

/** BDRVStateCOR. */
interface CorState {
  bottomBs: BdsNode | null;
  chainFrozen: boolean;
}

const slot = new OpaqueSlot<CorState>("copy-on-read");

function filteredChildOf(node: BdsNode): BdsNode {
  return filteredChild(node)!.bs;
}

export const copyOnReadDriver: DriverDef = {
  ...FILTER_DEFAULTS,
  ...FILTER_IO,
  supportsZeroUnmap: filteredSupportsZeroUnmap,
  pwritevCompressed: passCompressed,
  name: "copy-on-read",
  fua: { write: "file", zero: "file" },
  /**
   * `cor_getlength`: the length of `bs->file`. A filter that block-stream dropped has no child
   * any more but lives on while its job does (until it is dismissed): asking its length then
   * dereferences NULL, and QEMU 7.2 segfaults (query-named-block-nodes on a concluded stream).
   */
  getLength(node, length) {
    if (!filteredChild(node)) throw new QemuAbort("SIGSEGV", "");
    return filteredLength(node, length);
  },
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

  /**
   * `cor_co_preadv_part`: every read copies into the node below what it reads from further down;
   * with `bottom`, only what lies above the bottom node is copied.
   */
  preadv(host, node, offset, bytes, flags) {
    const file = filteredChildOf(node);
    const bottom = slot.get(node).bottomBs;
    if (!bottom) return bdrvPreadv(host, file, offset, bytes, flags | BDRV_REQ_COPY_ON_READ);
    const parts: Data[] = [];
    while (bytes > 0) {
      let localFlags = flags;
      let n: number;
      const top = bdrvIsAllocated(host, file, offset, bytes);
      n = top.pnum;
      if (!top.allocated) {
        const below = bdrvIsAllocatedAbove(host, backingChainNext(file), bottom, true, offset, n);
        n = below.pnum;
        if (below.depth > 0) localFlags |= BDRV_REQ_COPY_ON_READ;
        // The end of a backing file was reached.
        if (n === 0) break;
      }
      if ((localFlags & (BDRV_REQ_PREFETCH | BDRV_REQ_COPY_ON_READ)) !== BDRV_REQ_PREFETCH) parts.push(bdrvPreadv(host, file, offset, n, localFlags));
      offset += n;
      bytes -= n;
    }
    if (bytes > 0) parts.push(Data.untouched(bytes));
    return Data.concat(parts);
  },

  /** `cor_child_perm`: write-unchanged is always taken and always shared, whatever the parents share. */
  childPerm({ P, S }) {
    return [(P & PASSTHROUGH) | BLK_PERM_WRITE_UNCHANGED, (S & PASSTHROUGH) | BLK_PERM_WRITE_UNCHANGED];
  },
};

/**
 * `bdrv_cor_filter_drop` (block/copy-on-read.h): unfreeze, take the filter out of the graph, and
 * drop the reference its maker (block-stream) held.
 */
export function corFilterDrop(state: LayerState, cor: BdsNode): void {
  const s = slot.get(cor);
  if (s.chainFrozen) {
    s.chainFrozen = false;
    unfreezeBackingChain(cor, s.bottomBs);
  }
  dropFilter(state, cor);
  bdrvUnref(state, cor);
}
