/**
 * `vhdx` (block/vhdx.c): Hyper-V's VHDX images. The model follows vhdx_open (vhdx-open.ts), reopen
 * (always allowed), the default format permissions, bdrv_get_info and reads. Writes go through
 * QEMU's metadata log (vhdx_log_write_and_flush) with fresh random GUIDs in the headers; the model
 * does not follow them, and a write fails as "not modelled".
 */
import { bdrvPreadv } from "../data/block-io.js";
import { Data } from "../data/data.js";
import { Errno, ioFail } from "../data/io-error.js";
import { bdrvDefaultPerms } from "../child-perms.js";
import { childNamed } from "../graph.js";
import { OpaqueSlot } from "../opaque.js";
import { BDRV_CHILD_IMAGE } from "../roles.js";
import {
  PAYLOAD_BLOCK_FULLY_PRESENT,
  PAYLOAD_BLOCK_NOT_PRESENT,
  PAYLOAD_BLOCK_UNDEFINED,
  PAYLOAD_BLOCK_UNMAPPED,
  PAYLOAD_BLOCK_UNMAPPED_V095,
  PAYLOAD_BLOCK_ZERO,
  VHDX_BAT_FILE_OFF_MASK,
  VHDX_BAT_STATE_BIT_MASK,
} from "../images/vhdx-format.js";
import type { DriverDef } from "./driver.js";
import { type VhdxImage, VhdxOpener } from "./vhdx-open.js";

const slot = new OpaqueSlot<VhdxImage>("vhdx");

/** Block states that read as zeros. */
const READS_ZERO = new Set([PAYLOAD_BLOCK_NOT_PRESENT, PAYLOAD_BLOCK_UNDEFINED, PAYLOAD_BLOCK_UNMAPPED, PAYLOAD_BLOCK_UNMAPPED_V095, PAYLOAD_BLOCK_ZERO]);

export const vhdxDriver: DriverDef = {
  name: "vhdx",
  protocol: false,
  isFilter: false,
  supportsBacking: false,
  mutableOpts: [],

  /** `vhdx_probe`: "vhdxfile" at the start. */
  probe: (buf) => (buf.toString("latin1", 0, 8) === "vhdxfile" ? 100 : 0),

  open(ctx) {
    const file = ctx.openChild("file", BDRV_CHILD_IMAGE, false)!.bs;
    const image = new VhdxOpener(ctx.host, file).open();
    // The virtual disk size is a multiple of the logical sector size (512), as the spec requires.
    ctx.node.size = Number(image.virtualSize / 512n) * 512;
    slot.set(ctx.node, image);
  },

  childPerm: bdrvDefaultPerms,

  /** `vhdx_reopen_prepare`: anything goes. */
  reopenPrepare() {},

  /** `vhdx_get_info`: the block size. */
  getInfo(node) {
    return { info: { clusterSize: slot.get(node).blockSize, isDirty: false, vmStateOffset: 0 } };
  },

  /** `.bdrv_co_readv` only: requests come in whole sectors. */
  ioLimits: () => ({ requestAlignment: 512 }),

  /** `vhdx_co_readv`: block by block through the BAT (a partially present block is -EIO). */
  preadv(host, node, offset, bytes) {
    const s = slot.get(node);
    const file = childNamed(node, "file")!.bs;
    const parts: Data[] = [];
    while (bytes > 0) {
      // vhdx_block_translate: the BAT interleaves one sector bitmap entry per chunk of blocks.
      const block = Math.floor(offset / s.blockSize);
      const index = block + (block >>> s.chunkRatioBits);
      const inBlock = offset % s.blockSize;
      const n = Math.min(bytes, s.blockSize - inBlock);
      const entry = s.bat.readBigUInt64LE(index * 8);
      const state = Number(entry & VHDX_BAT_STATE_BIT_MASK);
      if (READS_ZERO.has(state)) parts.push(Data.zeros(n));
      else if (state === PAYLOAD_BLOCK_FULLY_PRESENT) {
        const base = entry & VHDX_BAT_FILE_OFF_MASK;
        // A block at file offset 0 reads from its offset in the block alone (vhdx_block_translate).
        parts.push(bdrvPreadv(host, file, base === 0n ? inBlock : Number(base) + inBlock, n));
      } else ioFail(Errno.EIO);
      offset += n;
      bytes -= n;
    }
    return Data.concat(parts);
  },
};
