/**
 * qcow2 table entries as block/qcow2.h reads them (no extended L2 entries: the model's images have
 * none, and it refuses images that do): flags, masks, cluster types.
 */

export const QCOW_OFLAG_COPIED = 1n << 63n;
export const QCOW_OFLAG_COMPRESSED = 1n << 62n;
export const QCOW_OFLAG_ZERO = 1n;
export const L1E_OFFSET_MASK = 0x00fffffffffffe00n;
export const L2E_OFFSET_MASK = 0x00fffffffffffe00n;
export const REFT_OFFSET_MASK = 0xfffffffffffffe00n;
/** QCOW2_COMPRESSED_SECTOR_SIZE. */
export const COMPRESSED_SECTOR = 512;

/** QCow2ClusterType. */
export type ClusterType = "unallocated" | "zero-plain" | "zero-alloc" | "normal" | "compressed";

/** `qcow2_get_cluster_type`: with an external data file, offset 0 is a cluster when COPIED is set. */
export function clusterType(entry: bigint, hasDataFile: boolean): ClusterType {
  if (entry & QCOW_OFLAG_COMPRESSED) return "compressed";
  if (entry & QCOW_OFLAG_ZERO) return entry & L2E_OFFSET_MASK ? "zero-alloc" : "zero-plain";
  if (!(entry & L2E_OFFSET_MASK)) return hasDataFile && entry & QCOW_OFLAG_COPIED ? "normal" : "unallocated";
  return "normal";
}

/** `qcow2_cluster_is_allocated`. */
export function isAllocatedType(t: ClusterType): boolean {
  return t === "compressed" || t === "normal" || t === "zero-alloc";
}

/** The host offset of an allocated (uncompressed) entry. */
export function entryOffset(entry: bigint): number {
  return Number(entry & L2E_OFFSET_MASK);
}

/** Where a compressed cluster's data lies (`qcow2_parse_compressed_l2_entry`). */
export function parseCompressed(entry: bigint, clusterBits: number): { offset: number; size: number } {
  const csizeShift = BigInt(62 - (clusterBits - 8));
  const csizeMask = (1n << BigInt(clusterBits - 8)) - 1n;
  const offsetMask = (1n << csizeShift) - 1n;
  const offset = Number(entry & offsetMask);
  const nbCsectors = Number((entry >> csizeShift) & csizeMask) + 1;
  return { offset, size: nbCsectors * COMPRESSED_SECTOR - (offset & (COMPRESSED_SECTOR - 1)) };
}

/** The L2 entry of a compressed cluster of `size` bytes at `offset`. */
export function compressedEntry(offset: number, size: number, clusterBits: number): bigint {
  const csizeShift = BigInt(62 - (clusterBits - 8));
  const nbCsectors = Math.floor((offset + size - 1) / COMPRESSED_SECTOR) - Math.floor(offset / COMPRESSED_SECTOR);
  return BigInt(offset) | QCOW_OFLAG_COMPRESSED | (BigInt(nbCsectors) << csizeShift);
}
