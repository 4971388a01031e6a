/** BdrvChildRole flags, under QEMU 7.2's names (include/block/block-common.h). */

/** The child stores guest data. */
export const BDRV_CHILD_DATA = 1 << 0;
/** The child stores metadata (image format structures). */
export const BDRV_CHILD_METADATA = 1 << 1;
/** The child is the one a filter passes every request to. */
export const BDRV_CHILD_FILTERED = 1 << 2;
/** The child is a COW (backing) file. */
export const BDRV_CHILD_COW = 1 << 3;
/** The primary child: the one whose filename the node's own filename is built from. */
export const BDRV_CHILD_PRIMARY = 1 << 4;
/** A format's image file: data, metadata, primary. */
export const BDRV_CHILD_IMAGE = BDRV_CHILD_DATA | BDRV_CHILD_METADATA | BDRV_CHILD_PRIMARY;
