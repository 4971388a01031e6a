/**
 * `snapshot-access` (block/snapshot-access.c): a read-only view of its file's snapshot API, which
 * copy-before-write provides (image fleecing: export this node to read the point-in-time copy).
 * It takes no permissions on its file; writes and zero writes are refused with -ENOTSUP, and so is
 * a read through a file without the snapshot API.
 */
import { childNamed, type BdsNode } from "../graph.js";
import { Errno, ioFail } from "../data/io-error.js";
import { totalSectorsLength } from "../node-length.js";
import { BLK_PERM_ALL } from "../perms.js";
import { BDRV_CHILD_DATA, BDRV_CHILD_PRIMARY } from "../roles.js";
import type { DriverDef } from "./driver.js";
import { keepsSizeHint } from "./filter.js";

/** `bs->file->bs`, which bdrv_co_preadv_snapshot and the others reach through. */
function snapshotFile(node: BdsNode): BdsNode {
  const file = childNamed(node, "file")!.bs;
  if (file.ejected) ioFail(Errno.ENOMEDIUM);
  return file;
}

export const snapshotAccessDriver: DriverDef = {
  name: "snapshot-access",
  protocol: false,
  isFilter: false,
  supportsBacking: false,
  mutableOpts: [],
  refreshedLength: keepsSizeHint,

  /** `snapshot_access_open`: the file (DATA|PRIMARY), whose length as last refreshed the node takes. */
  open(ctx) {
    const file = ctx.openChild("file", BDRV_CHILD_DATA | BDRV_CHILD_PRIMARY, false)!;
    ctx.node.size = totalSectorsLength(file.bs);
  },

  /** `snapshot_access_child_perm`: nothing taken, everything shared. */
  childPerm() {
    return [0, BLK_PERM_ALL];
  },

  /** `snapshot_access_co_preadv_part` → bdrv_co_preadv_snapshot. */
  preadv(host, node, offset, bytes, flags) {
    if (flags) ioFail(Errno.ENOTSUP);
    const file = snapshotFile(node);
    if (!file.driver.preadvSnapshot) ioFail(Errno.ENOTSUP);
    return file.driver.preadvSnapshot(host, file, offset, bytes);
  },

  /** Writes are -ENOTSUP; so are zero writes, and the zeroed buffer io.c writes instead. */
  pwritev() {
    ioFail(Errno.ENOTSUP);
  },

  pwriteZeroes() {
    ioFail(Errno.ENOTSUP);
  },

  /** `snapshot_access_co_block_status` → bdrv_co_snapshot_block_status. */
  blockStatus(host, node, wantZero, offset, bytes) {
    const file = snapshotFile(node);
    if (!file.driver.snapshotBlockStatus) ioFail(Errno.ENOTSUP);
    return file.driver.snapshotBlockStatus(host, file, wantZero, offset, bytes);
  },

  /** `snapshot_access_co_pdiscard` → bdrv_co_pdiscard_snapshot. */
  pdiscard(host, node, offset, bytes) {
    const file = snapshotFile(node);
    if (!file.driver.pdiscardSnapshot) ioFail(Errno.ENOTSUP);
    file.driver.pdiscardSnapshot(host, file, offset, bytes);
  },

  /** `snapshot_access_refresh_filename`: the file's filename. */
  refreshFilename(_node, { primaryFilename }) {
    return primaryFilename;
  },
};
