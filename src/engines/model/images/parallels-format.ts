/**
 * The Parallels on-disk format (block/parallels.h, docs/interop/parallels.txt): a 64-byte
 * little-endian header, then the block allocation table (BAT) of 32-bit cluster offsets.
 */

/** The old magic: BAT offsets in sectors, the sector count 32 bits wide. */
export const PARALLELS_MAGIC = "WithoutFreeSpace";
/** The magic QEMU writes: BAT offsets in clusters. */
export const PARALLELS_MAGIC2 = "WithouFreSpacExt";
export const PARALLELS_VERSION = 2;
/** `inuse` while an image is open read-write: the image was not closed cleanly. */
export const PARALLELS_INUSE_MAGIC = 0x746f6e59;
export const PARALLELS_HEADER_SIZE = 64;
export const PARALLELS_HEADS = 16;
export const PARALLELS_SEC_IN_CYL = 32;
export const PARALLELS_DEFAULT_CLUSTER_SIZE = 1 << 20;

/** ParallelsHeader, cpu-endian. */
export interface ParallelsHeader {
  magic: string;
  version: number;
  heads: number;
  cylinders: number;
  tracks: number;
  batEntries: number;
  nbSectors: bigint;
  inuse: number;
  dataOff: number;
  flags: number;
  extOff: bigint;
}

export function parseParallelsHeader(buf: Buffer): ParallelsHeader {
  return {
    magic: buf.subarray(0, 16).toString("latin1"),
    version: buf.readUInt32LE(16),
    heads: buf.readUInt32LE(20),
    cylinders: buf.readUInt32LE(24),
    tracks: buf.readUInt32LE(28),
    batEntries: buf.readUInt32LE(32),
    nbSectors: buf.readBigUInt64LE(36),
    inuse: buf.readUInt32LE(44),
    dataOff: buf.readUInt32LE(48),
    flags: buf.readUInt32LE(52),
    extOff: buf.readBigUInt64LE(56),
  };
}

export function serializeParallelsHeader(h: ParallelsHeader): Buffer {
  const buf = Buffer.alloc(PARALLELS_HEADER_SIZE);
  buf.write(h.magic, 0, 16, "latin1");
  buf.writeUInt32LE(h.version, 16);
  buf.writeUInt32LE(h.heads, 20);
  buf.writeUInt32LE(h.cylinders, 24);
  buf.writeUInt32LE(h.tracks, 28);
  buf.writeUInt32LE(h.batEntries, 32);
  buf.writeBigUInt64LE(h.nbSectors, 36);
  buf.writeUInt32LE(h.inuse, 44);
  buf.writeUInt32LE(h.dataOff, 48);
  buf.writeUInt32LE(h.flags, 52);
  buf.writeBigUInt64LE(h.extOff, 56);
  return buf;
}

/** `bat_entry_off`: where BAT entry `idx` sits in the file. */
export const batEntryOff = (idx: number) => PARALLELS_HEADER_SIZE + 4 * idx;
