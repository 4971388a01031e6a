/** BdrvChildRole flags (include/block/block-common.h). */
export const ROLE_DATA = 1;
export const ROLE_METADATA = 2;
export const ROLE_FILTERED = 4;
export const ROLE_COW = 8;
export const ROLE_PRIMARY = 16;
export const ROLE_IMAGE = ROLE_DATA | ROLE_METADATA | ROLE_PRIMARY;
