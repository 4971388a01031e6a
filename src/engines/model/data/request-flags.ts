/**
 * Request flags and block-status bits of QEMU 7.2 (include/block/block-common.h), under their
 * QEMU names; the model passes them along the I/O path as QEMU does.
 */

/** `BdrvRequestFlags`. */
export const BDRV_REQ_COPY_ON_READ = 0x1;
export const BDRV_REQ_ZERO_WRITE = 0x2;
export const BDRV_REQ_MAY_UNMAP = 0x4;
export const BDRV_REQ_FUA = 0x10;
export const BDRV_REQ_WRITE_COMPRESSED = 0x20;
export const BDRV_REQ_WRITE_UNCHANGED = 0x40;
export const BDRV_REQ_NO_FALLBACK = 0x100;
export const BDRV_REQ_PREFETCH = 0x200;

/** `bdrv_co_block_status` result bits. */
export const BDRV_BLOCK_DATA = 0x01;
export const BDRV_BLOCK_ZERO = 0x02;
export const BDRV_BLOCK_OFFSET_VALID = 0x04;
export const BDRV_BLOCK_RAW = 0x08;
export const BDRV_BLOCK_ALLOCATED = 0x10;
export const BDRV_BLOCK_EOF = 0x20;
export const BDRV_BLOCK_RECURSE = 0x40;

export const BDRV_SECTOR_SIZE = 512;

/** BDRV_REQUEST_MAX_BYTES: (INT_MAX >> BDRV_SECTOR_BITS) << BDRV_SECTOR_BITS on a 64-bit host. */
export const BDRV_REQUEST_MAX_BYTES = 2147483136;

/**
 * BDRV_MAX_LENGTH: INT64_MAX aligned down to BDRV_MAX_ALIGNMENT (1 GiB). 2^63 - 2^30 has 33
 * significant bits, so the double is exact; `BigInt(BDRV_MAX_LENGTH)` where a size is a bigint.
 */
export const BDRV_MAX_LENGTH = 2 ** 63 - 2 ** 30;

/** BLOCK_PROBE_BUF_SIZE (block_int-common.h): the bytes find_image_format gives the probes. */
export const BLOCK_PROBE_BUF_SIZE = 512;
