/** The VDI header (block/vdi.c's VdiHeader: 512 little-endian bytes) and its constants. */

/** VDI_SIGNATURE. */
export const VDI_SIGNATURE = 0xbeda107f;
/** VDI_VERSION_1_1. */
export const VDI_VERSION_1_1 = 0x00010001;
export const VDI_TYPE_DYNAMIC = 1;
export const VDI_TYPE_STATIC = 2;
/** VDI_TEXT, what QEMU writes at the start of its images. */
export const VDI_TEXT = "<<< QEMU VM Virtual Disk Image >>>\n";
export const VDI_HEADER_SIZE = 512;
/** DEFAULT_CLUSTER_SIZE: the only block size QEMU 7.2 creates or opens. */
export const VDI_BLOCK_SIZE = 1 << 20;
/** VDI_UNALLOCATED: a block never written. */
export const VDI_UNALLOCATED = 0xffffffff;
/** VDI_DISCARDED: a block that reads as zeros. */
export const VDI_DISCARDED = 0xfffffffe;
/** VDI_BLOCKS_IN_IMAGE_MAX: the block map stays below INT_MAX bytes. */
export const VDI_BLOCKS_IN_IMAGE_MAX = Math.floor((2 ** 31 - 512) / 4);
/** VDI_DISK_SIZE_MAX. */
export const VDI_DISK_SIZE_MAX = BigInt(VDI_BLOCKS_IN_IMAGE_MAX) * BigInt(VDI_BLOCK_SIZE);

/** Byte offsets of VdiHeader's fields. */
export const V = {
  text: 0x00,
  signature: 0x40,
  version: 0x44,
  headerSize: 0x48,
  imageType: 0x4c,
  imageFlags: 0x50,
  description: 0x54,
  offsetBmap: 0x154,
  offsetData: 0x158,
  cylinders: 0x15c,
  heads: 0x160,
  sectors: 0x164,
  sectorSize: 0x168,
  diskSize: 0x170,
  blockSize: 0x178,
  blockExtra: 0x17c,
  blocksInImage: 0x180,
  blocksAllocated: 0x184,
  uuidImage: 0x188,
  uuidLastSnap: 0x198,
  uuidLink: 0x1a8,
  uuidParent: 0x1b8,
} as const;
