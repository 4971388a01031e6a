/**
 * Allocation status (block/io.c `bdrv_co_block_status` and the functions above it): what a node
 * says about a range (data, zeros, deferred to a child, or not its own), and what a chain says.
 * qemu-io's `map` and `alloc` ask `bdrv_is_allocated`; copy-on-read asks it before copying.
 */
import { cowBs, filterOrCowBs } from "../chain.js";
import type { BlockStatusAnswer, DriverHost } from "../drivers/driver.js";
import { type BdsNode, filteredChild } from "../graph.js";
import { nodeLength } from "../node-length.js";
import { requestAlignment } from "./block-io.js";
import {
  BDRV_BLOCK_ALLOCATED,
  BDRV_BLOCK_DATA,
  BDRV_BLOCK_EOF,
  BDRV_BLOCK_OFFSET_VALID,
  BDRV_BLOCK_RAW,
  BDRV_BLOCK_RECURSE,
  BDRV_BLOCK_ZERO,
} from "./request-flags.js";
import { Errno, IoError, ioFail } from "./io-error.js";
import { QemuAbort, qemuAssert } from "../qemu-would-crash.js";

/** `bdrv_co_block_status` of one node (RAW answers are followed into the child they name). */
export function bdrvCoBlockStatus(host: DriverHost, bs: BdsNode, wantZero: boolean, offset: number, bytes: number): BlockStatusAnswer {
  // bdrv_getlength of a node without a driver.
  if (bs.ejected) ioFail(Errno.ENOMEDIUM);
  const total = nodeLength(bs);
  if (offset >= total) return { status: BDRV_BLOCK_EOF, pnum: 0, map: 0, file: null };
  if (bytes === 0) return { status: 0, pnum: 0, map: 0, file: null };
  bytes = Math.min(bytes, total - offset);
  const filtered = filteredChild(bs);
  if (!bs.driver.blockStatus && !filtered) {
    // Drivers without the hook have no backing files: everything is their data.
    let status = BDRV_BLOCK_DATA | BDRV_BLOCK_ALLOCATED | (offset + bytes === total ? BDRV_BLOCK_EOF : 0);
    if (bs.driver.protocol) status |= BDRV_BLOCK_OFFSET_VALID;
    return { status, pnum: bytes, map: offset, file: bs.driver.protocol ? bs : null };
  }
  const align = requestAlignment(bs);
  const alignedOffset = Math.floor(offset / align) * align;
  const alignedBytes = Math.ceil((offset + bytes) / align) * align - alignedOffset;
  const r: BlockStatusAnswer = bs.driver.blockStatus
    ? bs.driver.blockStatus(host, bs, wantZero, alignedOffset, alignedBytes)
    : { status: BDRV_BLOCK_RAW | BDRV_BLOCK_OFFSET_VALID, pnum: alignedBytes, map: alignedOffset, file: filtered!.bs };
  let pnum = Math.min(r.pnum - (offset - alignedOffset), bytes);
  const map = r.status & BDRV_BLOCK_OFFSET_VALID ? r.map + (offset - alignedOffset) : r.map;
  let status = r.status;
  let file = r.file;
  if (status & BDRV_BLOCK_RAW) {
    const inner = bdrvCoBlockStatus(host, r.file!, wantZero, map, pnum);
    ({ status, pnum, file } = inner);
    return { status: status | (offset + pnum === total ? BDRV_BLOCK_EOF : 0), pnum, map: inner.map, file };
  }
  if (status & (BDRV_BLOCK_DATA | BDRV_BLOCK_ZERO)) {
    status |= BDRV_BLOCK_ALLOCATED;
  } else if (bs.ejected) {
    // The driver answered after a corruption took it away (qcow2's first block status):
    // bs->drv->supports_backing dereferences NULL.
    throw new QemuAbort("SIGSEGV", `bdrv_co_block_status: '${bs.name}' lost its driver while it answered, and its unallocated answer reads bs->drv`);
  } else if (bs.driver.supportsBacking) {
    const cow = cowBs(bs);
    if (!cow) status |= BDRV_BLOCK_ZERO;
    else if (wantZero && offset >= nodeLength(cow)) status |= BDRV_BLOCK_ZERO;
  }
  if (wantZero && status & BDRV_BLOCK_RECURSE && file && file !== bs && status & BDRV_BLOCK_DATA && !(status & BDRV_BLOCK_ZERO) && status & BDRV_BLOCK_OFFSET_VALID) {
    // Where the image was preallocated, the file knows which of the data reads as zeros; an error
    // there is ignored.
    try {
      const inFile = bdrvCoBlockStatus(host, file, wantZero, map, pnum);
      if (inFile.status & BDRV_BLOCK_EOF && (inFile.pnum === 0 || inFile.status & BDRV_BLOCK_ZERO)) {
        // Past the end of the file reads as zeros.
        status |= BDRV_BLOCK_ZERO;
      } else {
        pnum = inFile.pnum;
        status |= inFile.status & BDRV_BLOCK_ZERO;
      }
    } catch (e) {
      if (!(e instanceof IoError)) throw e;
    }
  }
  if (offset + pnum === total) status |= BDRV_BLOCK_EOF;
  return { status, pnum, map, file };
}

/** What `bdrv_co_common_block_status_above` answers, with the depth it found it at. */
export interface ChainStatus extends BlockStatusAnswer {
  depth: number;
}

/** `bdrv_co_common_block_status_above`: down from `bs` until a layer holds the range (or `base`). */
export function blockStatusAbove(
  host: DriverHost,
  bs: BdsNode | null,
  base: BdsNode | null,
  includeBase: boolean,
  wantZero: boolean,
  offset: number,
  bytes: number,
): ChainStatus {
  if (includeBase && !base) qemuAssert({ file: "../../block/io.c", line: 2630, func: "bdrv_co_common_block_status_above" }, "!include_base || base");
  if (!includeBase && bs === base) return { status: 0, pnum: bytes, map: 0, file: null, depth: 0 };
  if (!bs) throw offChain();
  let r = bdrvCoBlockStatus(host, bs, wantZero, offset, bytes);
  let depth = 1;
  if (r.pnum === 0 || r.status & BDRV_BLOCK_ALLOCATED || bs === base) return { ...r, depth };
  const eof = r.status & BDRV_BLOCK_EOF ? offset + r.pnum : 0;
  bytes = r.pnum;
  // The walk ends at the base only: one that is not below `bs` (a copy-on-read `bottom` above
  // where the read looks) runs it off the chain's end.
  for (let p = filterOrCowBs(bs); includeBase || p !== base; p = filterOrCowBs(p)) {
    if (!p) throw offChain();
    r = bdrvCoBlockStatus(host, p, wantZero, offset, bytes);
    depth++;
    if (r.pnum === 0) {
      // Past the end of a shorter layer: zeros that count as allocated there.
      r = { status: BDRV_BLOCK_ZERO | BDRV_BLOCK_ALLOCATED, pnum: bytes, map: r.map, file: p };
      break;
    }
    if (r.status & BDRV_BLOCK_ALLOCATED) {
      r = { ...r, status: r.status & ~BDRV_BLOCK_EOF };
      break;
    }
    if (p === base) break;
    bytes = r.pnum;
  }
  if (offset + r.pnum === eof) r = { ...r, status: r.status | BDRV_BLOCK_EOF };
  return { ...r, depth };
}

/** bdrv_co_block_status(NULL): bdrv_getlength reads NULL->drv. */
function offChain(): QemuAbort {
  return new QemuAbort("SIGSEGV", "bdrv_co_common_block_status_above: the walk down the chain passed its end without meeting its base, and bdrv_co_block_status(NULL) reads bs->drv");
}

/** `bdrv_is_allocated`: whether `bs` itself decides the range's content, for how many bytes. */
export function bdrvIsAllocated(host: DriverHost, bs: BdsNode, offset: number, bytes: number): { allocated: boolean; pnum: number } {
  const r = blockStatusAbove(host, bs, bs, true, false, offset, bytes);
  return { allocated: (r.status & BDRV_BLOCK_ALLOCATED) !== 0, pnum: r.pnum };
}

/** `bdrv_is_allocated_above`: the depth (1 = top) of the layer holding the range, or 0. */
export function bdrvIsAllocatedAbove(
  host: DriverHost,
  top: BdsNode | null,
  base: BdsNode | null,
  includeBase: boolean,
  offset: number,
  bytes: number,
): { depth: number; pnum: number } {
  const r = blockStatusAbove(host, top, base, includeBase, false, offset, bytes);
  return { depth: r.status & BDRV_BLOCK_ALLOCATED ? r.depth : 0, pnum: r.pnum };
}

/** `bdrv_co_is_zero_fast`: known to read as zeros without reading it. */
export function bdrvIsZeroFast(host: DriverHost, bs: BdsNode, offset: number, bytes: number): boolean {
  if (bytes === 0) return true;
  const r = blockStatusAbove(host, bs, null, false, false, offset, bytes);
  return r.pnum === bytes && (r.status & BDRV_BLOCK_ZERO) !== 0;
}

/**
 * qcow2.c `is_zero`: `bdrv_block_status_above(bs, NULL)` (with want_zero) says zeros for the whole
 * range; a loop, because zeros of different kinds (unallocated, past a short backing file) do not merge.
 */
export function readsAsZeros(host: DriverHost, bs: BdsNode, offset: number, bytes: number): boolean {
  for (;;) {
    const r = blockStatusAbove(host, bs, null, false, true, offset, bytes);
    if (!(r.status & BDRV_BLOCK_ZERO)) return false;
    offset += r.pnum;
    bytes -= r.pnum;
    if (bytes === 0) return true;
    if (r.pnum === 0) return false;
  }
}
