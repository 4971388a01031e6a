/** The VHD footer and dynamic disk header (block/vpc.c's VHDFooter, VHDDynDiskHeader), big-endian. */

export const VHD_FIXED = 2;
export const VHD_DYNAMIC = 3;
export const VHD_CHS_MAX_C = 65535;
export const VHD_CHS_MAX_H = 16;
export const VHD_CHS_MAX_S = 255;
/** 2040 GiB in sectors. */
export const VHD_MAX_SECTORS = 0xff000000;
export const VHD_MAX_GEOMETRY = VHD_CHS_MAX_C * VHD_CHS_MAX_H * VHD_CHS_MAX_S;
export const VHD_FOOTER_SIZE = 512;
export const VHD_DYN_HEADER_SIZE = 1024;
/** The block size QEMU creates dynamic images with. */
export const VHD_BLOCK_SIZE = 0x200000;

/** Byte offsets of VHDFooter's fields. */
export const F = {
  creator: 0,
  features: 8,
  version: 12,
  dataOffset: 16,
  timestamp: 24,
  creatorApp: 28,
  major: 32,
  minor: 34,
  creatorOs: 36,
  origSize: 40,
  currentSize: 48,
  cyls: 56,
  heads: 58,
  secsPerCyl: 59,
  type: 60,
  checksum: 64,
  uuid: 68,
} as const;

/** Byte offsets of VHDDynDiskHeader's fields. */
export const D = {
  magic: 0,
  dataOffset: 8,
  tableOffset: 16,
  version: 24,
  maxTableEntries: 28,
  blockSize: 32,
  checksum: 36,
} as const;

/** `vpc_checksum`: the one's complement of the byte sum. */
export function vpcChecksum(buf: Buffer): number {
  let sum = 0;
  for (const b of buf) sum = (sum + b) >>> 0;
  return ~sum >>> 0;
}

/**
 * `calculate_geometry`: cylinders, heads and sectors per cylinder for a sector count, as the VHD
 * specification computes them (the product may be smaller than the count).
 */
export function calculateGeometry(totalSectors: number): { cyls: number; heads: number; secs: number } {
  totalSectors = Math.min(totalSectors, VHD_MAX_GEOMETRY);
  let secs: number;
  let heads: number;
  let cylsTimesHeads: number;
  if (totalSectors >= 65535 * 16 * 63) {
    secs = 255;
    heads = 16;
    cylsTimesHeads = Math.floor(totalSectors / secs);
  } else {
    secs = 17;
    cylsTimesHeads = Math.floor(totalSectors / secs);
    // uint8_t heads: DIV_ROUND_UP's result is truncated to 8 bits.
    heads = Math.ceil(cylsTimesHeads / 1024) & 0xff;
    if (heads < 4) heads = 4;
    if (cylsTimesHeads >= heads * 1024 || heads > 16) {
      secs = 31;
      heads = 16;
      cylsTimesHeads = Math.floor(totalSectors / secs);
    }
    if (cylsTimesHeads >= heads * 1024) {
      secs = 63;
      heads = 16;
      cylsTimesHeads = Math.floor(totalSectors / secs);
    }
  }
  // uint32_t cyls_times_heads / heads, stored in a uint16_t.
  return { cyls: Math.floor((cylsTimesHeads >>> 0) / heads) & 0xffff, heads, secs };
}
