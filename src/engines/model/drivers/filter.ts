/** What the filter drivers share: one FILTERED|PRIMARY `file` child, whose size the filter shows. */
import { bdrvDefaultPerms } from "../child-perms.js";
import { bdrvPdiscard, bdrvPreadv, bdrvPwritev, bdrvPwriteZeroes } from "../data/block-io.js";
import { BDRV_REQ_WRITE_COMPRESSED } from "../data/request-flags.js";
import { type BdsNode, type Child, filteredChild } from "../graph.js";
import { nodeLength } from "../node-length.js";
import { BDRV_CHILD_FILTERED, BDRV_CHILD_PRIMARY } from "../roles.js";
import type { DriverDef, OpenContext } from "./driver.js";

/** The DriverDef fields every filter here has in common (spread first, then override). */
export const FILTER_DEFAULTS = {
  protocol: false,
  isFilter: true,
  supportsBacking: false,
  mutableOpts: [] as readonly string[],
  childPerm: bdrvDefaultPerms,
} as const;

/** `.bdrv_getlength` of the filters with has_variable_length (copy-on-read, compress, preallocate). */
export function filteredLength(node: BdsNode, length: (n: BdsNode) => number): number {
  const file = filteredChild(node);
  return file ? length(file.bs) : node.size;
}

/**
 * `refreshedLength` of a filter without `.bdrv_getlength` (copy-before-write, mirror_top,
 * commit_top): refresh_total_sectors keeps its hint, so a truncate inside a sector leaves the
 * filter shorter than its file (rounded down where file-posix rounds up).
 */
export function keepsSizeHint(_node: BdsNode, hint: number): number {
  return hint;
}

/** Open and attach the filtered `file` child; the filter's size is its child's. */
export function openFilteredFile(ctx: OpenContext): Child {
  const file = ctx.openChild("file", BDRV_CHILD_FILTERED | BDRV_CHILD_PRIMARY, false)!;
  ctx.node.size = nodeLength(file.bs);
  return file;
}

function filtered(node: BdsNode): BdsNode {
  return filteredChild(node)!.bs;
}

/**
 * The data path of a filter that hands every request to its filtered child as it is (throttle's
 * without its limits, preallocate's without preallocating, blkdebug's without rules): spread it
 * into the driver and override what the filter does differently.
 */
export const FILTER_IO = {
  preadv(host, node, offset, bytes, flags) {
    return bdrvPreadv(host, filtered(node), offset, bytes, flags);
  },
  // Through the edge, whose permissions bdrv_co_write_req_prepare checks: a filter whose length a
  // reopen left stale (throttle, blkdebug) passes a write past its new child's end, and QEMU aborts.
  pwritev(host, node, offset, data, flags) {
    const file = filteredChild(node)!;
    bdrvPwritev(host, file.bs, offset, data, flags, file);
  },
  pwriteZeroes(host, node, offset, bytes, flags) {
    const file = filteredChild(node)!;
    bdrvPwriteZeroes(host, file.bs, offset, bytes, flags, file);
  },
  pdiscard(host, node, offset, bytes) {
    bdrvPdiscard(host, filtered(node), offset, bytes);
  },
} as const satisfies Partial<DriverDef>;

/**
 * `bs->supported_zero_flags` of a filter that takes BDRV_REQ_MAY_UNMAP from its filtered child at
 * open (blkdebug, copy-on-read, compress, throttle): zeros written through it may be unmapped, and
 * a mirror may zero a target under it by unmapping, when they may below it.
 */
export function filteredSupportsZeroUnmap(node: BdsNode): boolean {
  const child = filteredChild(node);
  return child ? (child.bs.driver.supportsZeroUnmap?.(child.bs) ?? false) : false;
}

/** `.bdrv_co_pwritev_compressed` of a filter that passes compressed writes on (throttle, copy-on-read). */
export const passCompressed: NonNullable<DriverDef["pwritevCompressed"]> = (host, node, offset, data) => {
  const file = filteredChild(node)!;
  bdrvPwritev(host, file.bs, offset, data, BDRV_REQ_WRITE_COMPRESSED, file);
};
