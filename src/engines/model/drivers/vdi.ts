/**
 * `vdi` (block/vdi.c): VirtualBox images, a header, a block map of 1 MiB blocks and the data. The
 * model follows vdi_open's checks and messages, reopen (always allowed), the default format
 * permissions, bdrv_get_info, block status, reads and writes (a write to an unallocated block
 * appends a whole zero-padded block, then rewrites the header and the block map's sectors).
 */
import { bdrvPreadv, bdrvPwritev } from "../data/block-io.js";
import { Data } from "../data/data.js";
import { BDRV_BLOCK_DATA, BDRV_BLOCK_OFFSET_VALID, BDRV_BLOCK_RECURSE, BDRV_BLOCK_ZERO } from "../data/request-flags.js";
import { bdrvDefaultPerms } from "../child-perms.js";
import { childNamed } from "../graph.js";
import { OpaqueSlot } from "../opaque.js";
import { fail } from "../qmp-failure.js";
import { BDRV_CHILD_IMAGE } from "../roles.js";
import {
  V,
  VDI_BLOCK_SIZE,
  VDI_BLOCKS_IN_IMAGE_MAX,
  VDI_DISCARDED,
  VDI_DISK_SIZE_MAX,
  VDI_HEADER_SIZE,
  VDI_SIGNATURE,
  VDI_TYPE_STATIC,
  VDI_VERSION_1_1,
} from "../images/vdi-format.js";
import type { DriverDef } from "./driver.js";
import { readMetadata } from "./vdi-vpc-vhdx-read.js";

/** BDRVVdiState. */
interface VdiState {
  /** s->header as vdi_open keeps it (the disk size rounded up), in the file's byte order. */
  header: Buffer;
  imageType: number;
  offsetData: number;
  blockSize: number;
  /** s->bmap: the block map's whole sectors as read, little-endian entries. */
  bmap: Buffer;
}

const slot = new OpaqueSlot<VdiState>("vdi");

const hex = (n: number | bigint) => n.toString(16);

/** `vdi_open`'s checks, in its order; returns the (rounded) disk size. */
function checkHeader(h: Buffer): bigint {
  const diskSize = h.readBigUInt64LE(V.diskSize);
  if (diskSize > VDI_DISK_SIZE_MAX) {
    fail(`Unsupported VDI image size (size is 0x${hex(diskSize)}, max supported is 0x${hex(VDI_DISK_SIZE_MAX)})`);
  }
  // 'VBoxManage convertfromraw' can make odd sizes; QEMU rounds them up to whole sectors.
  const size = ((diskSize + 511n) / 512n) * 512n;
  const u32 = (at: number) => h.readUInt32LE(at);
  const signature = u32(V.signature);
  const version = u32(V.version);
  const blocksInImage = u32(V.blocksInImage);
  const blockSize = u32(V.blockSize);
  const isNull = (at: number) => h.subarray(at, at + 16).every((b) => b === 0);
  if (signature !== VDI_SIGNATURE) fail(`Image not in VDI format (bad signature ${hex(signature).padStart(8, "0")})`);
  if (version !== VDI_VERSION_1_1) fail(`unsupported VDI image (version ${version >>> 16}.${version & 0xffff})`);
  if (u32(V.offsetBmap) % 512 !== 0) fail(`unsupported VDI image (unaligned block map offset 0x${hex(u32(V.offsetBmap))})`);
  if (u32(V.offsetData) % 512 !== 0) fail(`unsupported VDI image (unaligned data offset 0x${hex(u32(V.offsetData))})`);
  if (u32(V.sectorSize) !== 512) fail(`unsupported VDI image (sector size ${u32(V.sectorSize)} is not 512)`);
  if (blockSize !== VDI_BLOCK_SIZE) fail(`unsupported VDI image (block size ${blockSize} is not ${VDI_BLOCK_SIZE})`);
  const room = BigInt(blocksInImage) * BigInt(blockSize);
  if (size > room) fail(`unsupported VDI image (disk size ${size}, image bitmap has room for ${room})`);
  if (!isNull(V.uuidLink)) fail("unsupported VDI image (non-NULL link UUID)");
  if (!isNull(V.uuidParent)) fail("unsupported VDI image (non-NULL parent UUID)");
  if (blocksInImage > VDI_BLOCKS_IN_IMAGE_MAX) {
    fail(`unsupported VDI image (too many blocks ${blocksInImage}, max is ${VDI_BLOCKS_IN_IMAGE_MAX})`);
  }
  return size;
}

/** VDI_IS_ALLOCATED. */
const isAllocated = (entry: number) => entry < VDI_DISCARDED;

export const vdiDriver: DriverDef = {
  name: "vdi",
  protocol: false,
  isFilter: false,
  supportsBacking: false,
  mutableOpts: [],

  /** `vdi_has_zero_init`: a static image reads as its file does. */
  hasZeroInit: (node, recurse) => (slot.get(node).imageType === VDI_TYPE_STATIC ? recurse(childNamed(node, "file")!.bs) : true),

  /** `vdi_probe`: the signature. */
  probe: (buf) => (buf.length >= VDI_HEADER_SIZE && buf.readUInt32LE(V.signature) === VDI_SIGNATURE ? 100 : 0),

  open(ctx) {
    const file = ctx.openChild("file", BDRV_CHILD_IMAGE, false)!.bs;
    // vdi_open's header is on its stack, and a refusal prints the signature it holds.
    const h = readMetadata(ctx.host, file, 0, VDI_HEADER_SIZE, undefined, "a vdi header read from a node that leaves the buffer uninitialised (QEMU 7.2 prints the signature its stack held)");
    const size = checkHeader(h);
    const blocks = h.readUInt32LE(V.blocksInImage);
    const bmapBytes = Math.ceil((blocks * 4) / 512) * 512;
    const bmap = readMetadata(ctx.host, file, h.readUInt32LE(V.offsetBmap), bmapBytes);
    ctx.node.size = Number(size);
    h.writeBigUInt64LE(size, V.diskSize);
    slot.set(ctx.node, { header: h, imageType: h.readUInt32LE(V.imageType), offsetData: h.readUInt32LE(V.offsetData), blockSize: VDI_BLOCK_SIZE, bmap });
    // The migration blocker vdi_open adds changes nothing the storage daemon shows.
  },

  childPerm: bdrvDefaultPerms,

  /** `vdi_reopen_prepare`: anything goes, read-write included. */
  reopenPrepare() {},

  /** `vdi_get_info`: the block size; vm_state_offset 0. */
  getInfo(node) {
    return { info: { clusterSize: slot.get(node).blockSize, isDirty: false, vmStateOffset: 0 } };
  },

  /** `vdi_co_block_status`: one block at most; unallocated blocks read as zeros. */
  blockStatus(_host, node, _wantZero, offset, bytes) {
    const s = slot.get(node);
    const inBlock = offset % s.blockSize;
    const entry = s.bmap.readUInt32LE(Math.floor(offset / s.blockSize) * 4);
    const pnum = Math.min(s.blockSize - inBlock, bytes);
    if (!isAllocated(entry)) return { status: BDRV_BLOCK_ZERO, pnum, map: 0, file: null };
    return {
      status: BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID | (s.imageType === VDI_TYPE_STATIC ? BDRV_BLOCK_RECURSE : 0),
      pnum,
      map: s.offsetData + entry * s.blockSize + inBlock,
      file: childNamed(node, "file")!.bs,
    };
  },

  /** `vdi_co_preadv`: block by block, zeros where nothing is allocated. */
  preadv(host, node, offset, bytes) {
    const s = slot.get(node);
    const file = childNamed(node, "file")!.bs;
    const parts: Data[] = [];
    while (bytes > 0) {
      const inBlock = offset % s.blockSize;
      const n = Math.min(bytes, s.blockSize - inBlock);
      const entry = s.bmap.readUInt32LE(Math.floor(offset / s.blockSize) * 4);
      parts.push(isAllocated(entry) ? bdrvPreadv(host, file, s.offsetData + entry * s.blockSize + inBlock, n) : Data.zeros(n));
      offset += n;
      bytes -= n;
    }
    return Data.concat(parts);
  },
  /**
   * `vdi_co_pwritev`: block by block; an unallocated block becomes the next one after the allocated
   * ones, written whole with zeros around the data; then the header (blocks_allocated) and the
   * block map's sectors from the first to the last changed entry.
   */
  pwritev(host, node, offset, data) {
    const s = slot.get(node);
    const file = childNamed(node, "file")!.bs;
    let first = -1;
    let last = -1;
    for (let done = 0; done < data.length; ) {
      const index = Math.floor(offset / s.blockSize);
      const inBlock = offset % s.blockSize;
      const n = Math.min(data.length - done, s.blockSize - inBlock);
      const piece = data.slice(done, n);
      const entry = s.bmap.readUInt32LE(index * 4);
      if (isAllocated(entry)) {
        bdrvPwritev(host, file, s.offsetData + entry * s.blockSize + inBlock, piece, 0);
      } else {
        const allocated = s.header.readUInt32LE(V.blocksAllocated);
        s.bmap.writeUInt32LE(allocated, index * 4);
        s.header.writeUInt32LE(allocated + 1, V.blocksAllocated);
        if (first < 0) first = index;
        last = index;
        const block = Data.concat([Data.zeros(inBlock), piece, Data.zeros(s.blockSize - inBlock - n)]);
        bdrvPwritev(host, file, s.offsetData + allocated * s.blockSize, block, 0);
      }
      offset += n;
      done += n;
    }
    if (first < 0) return;
    bdrvPwritev(host, file, 0, Data.bytes(Buffer.from(s.header)), 0);
    const from = Math.floor(first / 128) * 512;
    const to = (Math.floor(last / 128) + 1) * 512;
    bdrvPwritev(host, file, s.header.readUInt32LE(V.offsetBmap) + from, Data.bytes(Buffer.from(s.bmap.subarray(from, to))), 0);
  },
};
