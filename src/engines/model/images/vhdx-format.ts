/** The VHDX layout (block/vhdx.h): file identifier, headers, region tables, metadata, BAT; little-endian. */

const KiB = 1024;
export const MiB = 1024 * KiB;

export const VHDX_HEADER_BLOCK_SIZE = 64 * KiB;
export const VHDX_HEADER1_OFFSET = VHDX_HEADER_BLOCK_SIZE;
export const VHDX_HEADER2_OFFSET = 2 * VHDX_HEADER_BLOCK_SIZE;
export const VHDX_REGION_TABLE_OFFSET = 3 * VHDX_HEADER_BLOCK_SIZE;
export const VHDX_REGION_TABLE2_OFFSET = 4 * VHDX_HEADER_BLOCK_SIZE;
export const VHDX_HEADER_SECTION_END = MiB;
/** sizeof(VHDXHeader): the header with its reserved bytes, which the checksum covers. */
export const VHDX_HEADER_SIZE = 4 * KiB;
/** "head". */
export const VHDX_HEADER_SIGNATURE = 0x64616568;
/** "regi". */
export const VHDX_REGION_SIGNATURE = 0x69676572;
export const VHDX_REGION_ENTRY_REQUIRED = 0x01;
export const VHDX_LOG_MIN_SIZE = MiB;
export const DEFAULT_LOG_SIZE = MiB;
export const VHDX_METADATA_ENTRY_SIZE = 32;
export const VHDX_METADATA_TABLE_MAX_SIZE = VHDX_METADATA_ENTRY_SIZE * (2047 + 1);
export const VHDX_META_FLAGS_IS_VIRTUAL_DISK = 0x02;
export const VHDX_META_FLAGS_IS_REQUIRED = 0x04;
export const VHDX_PARAMS_LEAVE_BLOCKS_ALLOCED = 0x01;
export const VHDX_PARAMS_HAS_PARENT = 0x02;
export const VHDX_BLOCK_SIZE_MIN = MiB;
export const VHDX_BLOCK_SIZE_MAX = 256 * MiB;
export const VHDX_MAX_SECTORS_PER_BLOCK = 1 << 23;
export const VHDX_MAX_IMAGE_SIZE = 64 * 2 ** 40;

export const PAYLOAD_BLOCK_NOT_PRESENT = 0;
export const PAYLOAD_BLOCK_UNDEFINED = 1;
export const PAYLOAD_BLOCK_ZERO = 2;
export const PAYLOAD_BLOCK_UNMAPPED = 3;
export const PAYLOAD_BLOCK_UNMAPPED_V095 = 5;
export const PAYLOAD_BLOCK_FULLY_PRESENT = 6;
export const VHDX_BAT_STATE_BIT_MASK = 0x07n;
export const VHDX_BAT_FILE_OFF_MASK = 0xfffffffffff00000n;

/** Byte offsets of VHDXHeader's fields. */
export const HDR = {
  signature: 0,
  checksum: 4,
  sequenceNumber: 8,
  fileWriteGuid: 16,
  dataWriteGuid: 32,
  logGuid: 48,
  logVersion: 64,
  version: 66,
  logLength: 68,
  logOffset: 72,
} as const;

/** An MSGUID in its on-disk (little-endian) form. */
function guid(data1: number, data2: number, data3: number, data4: number[]): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(data1, 0);
  b.writeUInt16LE(data2, 4);
  b.writeUInt16LE(data3, 6);
  Buffer.from(data4).copy(b, 8);
  return b;
}

export const BAT_GUID = guid(0x2dc27766, 0xf623, 0x4200, [0x9d, 0x64, 0x11, 0x5e, 0x9b, 0xfd, 0x4a, 0x08]);
export const METADATA_GUID = guid(0x8b7ca206, 0x4790, 0x4b9a, [0xb8, 0xfe, 0x57, 0x5f, 0x05, 0x0f, 0x88, 0x6e]);
export const FILE_PARAM_GUID = guid(0xcaa16737, 0xfa36, 0x4d43, [0xb3, 0xb6, 0x33, 0xf0, 0xaa, 0x44, 0xe7, 0x6b]);
export const VIRTUAL_SIZE_GUID = guid(0x2fa54224, 0xcd1b, 0x4876, [0xb2, 0x11, 0x5d, 0xbe, 0xd8, 0x3b, 0xf4, 0xb8]);
export const PAGE83_GUID = guid(0xbeca12ab, 0xb2e6, 0x4523, [0x93, 0xef, 0xc3, 0x09, 0xe0, 0x00, 0xc7, 0x46]);
export const PHYS_SECTOR_GUID = guid(0xcda348c7, 0x445d, 0x4471, [0x9c, 0xc9, 0xe9, 0x88, 0x52, 0x51, 0xc5, 0x56]);
export const PARENT_LOCATOR_GUID = guid(0xa8d35f2d, 0xb30b, 0x454d, [0xab, 0xf7, 0xd3, 0xd8, 0x48, 0x34, 0xab, 0x0c]);
export const LOGICAL_SECTOR_GUID = guid(0x8141bf1d, 0xa96f, 0x4709, [0xba, 0x47, 0xf2, 0x33, 0xa8, 0xfa, 0xab, 0x5f]);

/** CRC-32C (Castagnoli), reflected, as util/crc32c.c computes it. */
const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** `crc32c(0xffffffff, buf, size)`. */
export function crc32c(buf: Buffer): number {
  let crc = 0xffffffff;
  for (const b of buf) crc = CRC32C_TABLE[(crc ^ b) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** `vhdx_update_checksum`: the CRC over `buf` with its checksum field zeroed, written there. */
export function updateChecksum(buf: Buffer, crcOffset: number): void {
  buf.writeUInt32LE(0, crcOffset);
  buf.writeUInt32LE(crc32c(buf), crcOffset);
}

/** `vhdx_checksum_is_valid`. */
export function checksumIsValid(buf: Buffer, crcOffset: number): boolean {
  const copy = Buffer.from(buf);
  const stored = copy.readUInt32LE(crcOffset);
  copy.writeUInt32LE(0, crcOffset);
  return crc32c(copy) === stored;
}

/** Block geometry derived from the block size (vhdx_set_shift_bits and vhdx_calc_bat_entries without a parent). */
export function batGeometry(virtualSize: number, blockSize: number, logicalSectorSize = 512): { chunkRatio: number; chunkRatioBits: number; sectorsPerBlock: number; batEntries: number } {
  const chunkRatio = Math.floor((VHDX_MAX_SECTORS_PER_BLOCK * logicalSectorSize) / blockSize);
  const chunkRatioBits = Math.log2(chunkRatio);
  // uint32_t data_blocks_cnt: (0 - 1) >> bits wraps around for an empty image.
  const dataBlocks = Math.ceil(virtualSize / blockSize) >>> 0;
  const batEntries = (dataBlocks + (((dataBlocks - 1) >>> 0) >>> chunkRatioBits)) >>> 0;
  return { chunkRatio, chunkRatioBits, sectorsPerBlock: blockSize / logicalSectorSize, batEntries };
}
