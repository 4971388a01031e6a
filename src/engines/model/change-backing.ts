/**
 * Writing a new backing file name into an image (block.c): `bdrv_change_backing_file`, and the
 * update a job makes in every overlay of a node it drops (`bdrv_backing_update_filename`, the
 * `update_filename` callback of child_of_bds). Failures here are only printed by QEMU (the job's
 * result says -errno), so they are returned, not thrown.
 */
import type { BdsNode, Child } from "./graph.js";
import { BACKING_FORMAT_SIZE } from "./images/qcow2-format.js";
import type { LayerState } from "./layer-state.js";
import { QmpFailure } from "./qmp-failure.js";
import { reopenSetReadOnly, reopenSetReadOnlyQuietly } from "./reopen/set-read-only.js";
import { BDRV_CHILD_COW } from "./roles.js";

const EINVAL = 22;
const ENOTSUP = 95;
const ENOMEDIUM = 123;

/** `bdrv_change_backing_file`: 0 or -errno; on success the node's backing names are the new ones. */
export function bdrvChangeBackingFile(bs: BdsNode, backingFile: string | null, backingFormat: string | null, require: boolean): number {
  if (bs.ejected) return -ENOMEDIUM;
  if (backingFormat !== null && backingFile === null) return -EINVAL;
  if (require && backingFile !== null && backingFormat === null) return -EINVAL;
  const ret = bs.driver.changeBackingFile ? bs.driver.changeBackingFile(bs, backingFile, backingFormat) : -ENOTSUP;
  if (ret === 0) {
    bs.backingFile = backingFile ?? "";
    // pstrcpy into bs->backing_format, a char[16].
    bs.backingFormat = (backingFormat ?? "").slice(0, BACKING_FORMAT_SIZE - 1);
    bs.autoBackingFile = backingFile ?? "";
  }
  return ret;
}

/**
 * `bdrv_child_cb_update_filename` → `bdrv_backing_update_filename`: an overlay of `base` records
 * `filename` (and base's format) as its backing file, made writable for the moment if it is
 * read-only. 0 or -errno.
 */
export function updateFilename(state: LayerState, c: Child, base: BdsNode, filename: string): number {
  if (c.parent.kind !== "node" || !(c.role & BDRV_CHILD_COW)) return 0;
  const parent = c.parent.node;
  const readOnly = parent.readOnly;
  if (readOnly) {
    try {
      reopenSetReadOnly(state, parent, false);
    } catch (e) {
      if (e instanceof QmpFailure) return -1;
      throw e;
    }
  }
  const ret = bdrvChangeBackingFile(parent, filename, base.driver.name, false);
  if (readOnly) reopenSetReadOnlyQuietly(state, parent, true);
  return ret;
}
