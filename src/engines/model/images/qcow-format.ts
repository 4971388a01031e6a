/**
 * The qcow (version 1) on-disk format (block/qcow.c): a 48-byte big-endian header, the backing file
 * name after it, the L1 table from the next 8-byte boundary, L2 tables and data clusters after.
 */

/** "QFI\xfb", the same magic as qcow2's; the version tells them apart. */
export const QCOW_MAGIC = 0x514649fb;
export const QCOW_VERSION = 1;
export const QCOW_CRYPT_NONE = 0;
export const QCOW_CRYPT_AES = 1;
/** sizeof(QCowHeader). */
export const QCOW_HEADER_SIZE = 48;

/** QCowHeader, cpu-endian. */
export interface QcowHeader {
  magic: number;
  version: number;
  backingFileOffset: bigint;
  backingFileSize: number;
  mtime: number;
  size: bigint;
  clusterBits: number;
  l2Bits: number;
  cryptMethod: number;
  l1TableOffset: bigint;
}

export function parseQcowHeader(buf: Buffer): QcowHeader {
  return {
    magic: buf.readUInt32BE(0),
    version: buf.readUInt32BE(4),
    backingFileOffset: buf.readBigUInt64BE(8),
    backingFileSize: buf.readUInt32BE(16),
    mtime: buf.readUInt32BE(20),
    size: buf.readBigUInt64BE(24),
    clusterBits: buf.readUInt8(32),
    l2Bits: buf.readUInt8(33),
    cryptMethod: buf.readUInt32BE(36),
    l1TableOffset: buf.readBigUInt64BE(40),
  };
}

export function serializeQcowHeader(h: QcowHeader): Buffer {
  const buf = Buffer.alloc(QCOW_HEADER_SIZE);
  buf.writeUInt32BE(h.magic, 0);
  buf.writeUInt32BE(h.version, 4);
  buf.writeBigUInt64BE(h.backingFileOffset, 8);
  buf.writeUInt32BE(h.backingFileSize, 16);
  buf.writeUInt32BE(h.mtime, 20);
  buf.writeBigUInt64BE(h.size, 24);
  buf.writeUInt8(h.clusterBits, 32);
  buf.writeUInt8(h.l2Bits, 33);
  buf.writeUInt32BE(h.cryptMethod, 36);
  buf.writeBigUInt64BE(h.l1TableOffset, 40);
  return buf;
}
