/**
 * The generic request path of block/io.c, synchronous: what every read, write, zero write and
 * discard passes through on its way from a parent to a node's driver. It checks the request, pads
 * it to the node's alignment, zero-fills reads past the end, refuses writes to read-only nodes,
 * turns zero data into zero writes (`detect-zeroes`), splits zero writes and discards at the
 * driver's alignment, falls back to writing zeros where a driver cannot, and lets the node grow when
 * a write passes its end. Drivers call back into it for their children, as QEMU's do.
 */
import type { DriverHost } from "../drivers/driver.js";
import { type BdsNode, type Child, primaryChild } from "../graph.js";
import { nodeLength, totalSectorsLength } from "../node-length.js";
import { BDRV_CHILD_COW, BDRV_CHILD_DATA, BDRV_CHILD_FILTERED } from "../roles.js";
import { bdrvIsAllocated } from "./block-status.js";
import { copyOnReadv } from "./copy-on-read.js";
import { Data } from "./data.js";
import { Errno, IoError, ioFail, ModelIoUnsupportedError } from "./io-error.js";
import { completesLater } from "./request-waits.js";
import { qemuAssert } from "../qemu-would-crash.js";
import { optBool } from "../options.js";
import { BLK_PERM_RESIZE, BLK_PERM_WRITE, BLK_PERM_WRITE_UNCHANGED } from "../perms.js";
import {
  BDRV_REQ_COPY_ON_READ,
  BDRV_REQ_FUA,
  BDRV_REQ_MAY_UNMAP,
  BDRV_REQ_NO_FALLBACK,
  BDRV_REQ_PREFETCH,
  BDRV_REQ_WRITE_COMPRESSED,
  BDRV_REQ_ZERO_WRITE,
  BDRV_MAX_LENGTH,
  BDRV_REQUEST_MAX_BYTES,
  BDRV_SECTOR_SIZE,
} from "./request-flags.js";


const alignDown = (x: number, a: number) => Math.floor(x / a) * a;

const INT_MAX = 2 ** 31 - 1;

/**
 * bl.max_transfer as bdrv_refresh_limits leaves it: the driver's own, and the smallest of those of
 * the children holding the node's data (bdrv_merge_limits); 0 when none limits it.
 */
export function maxTransferOf(bs: BdsNode): number {
  let max = bs.driver.ioLimits?.(bs).maxTransfer ?? 0;
  for (const c of bs.children) {
    if (!(c.role & (BDRV_CHILD_DATA | BDRV_CHILD_FILTERED | BDRV_CHILD_COW))) continue;
    const m = maxTransferOf(c.bs);
    if (m && (!max || m < max)) max = m;
  }
  return max;
}

/**
 * bl.pdiscard_alignment as bdrv_refresh_limits leaves it: the largest of the children holding the
 * node's data (bdrv_merge_limits), unless the driver sets its own (qcow2's cluster size,
 * blkdebug's opt-discard); 0 when none.
 */
export function pdiscardAlignmentOf(bs: BdsNode): number {
  const own = bs.driver.ioLimits?.(bs).pdiscardAlignment ?? 0;
  if (own) return own;
  let max = 0;
  for (const c of bs.children) {
    if (c.role & (BDRV_CHILD_DATA | BDRV_CHILD_FILTERED | BDRV_CHILD_COW)) max = Math.max(max, pdiscardAlignmentOf(c.bs));
  }
  return max;
}

/** MAX_BOUNCE_BUFFER: the most a zero write that falls back writes at once. */
const MAX_BOUNCE_BUFFER = 32768 * 512;
const alignUp = (x: number, a: number) => Math.ceil(x / a) * a;

/** `bs->bl.request_alignment` as the I/O path uses it. */
export function requestAlignment(bs: BdsNode): number {
  return Math.max(bs.alignment || 1, bs.driver.ioLimits?.(bs).requestAlignment ?? 1);
}

/**
 * `bdrv_has_readonly_bitmaps`: a node with a read-only dirty bitmap (loaded from an image it cannot
 * write, or stored by a read-only reopen, which keeps it so should the reopen fail after) takes no
 * write, zero write or discard (-EPERM).
 */
function hasReadonlyBitmaps(bs: BdsNode): boolean {
  return bs.dirtyBitmaps?.some((b) => b.readonly) ?? false;
}

/** `bdrv_debug_event`: a blkdebug node's rules for `event` run (other drivers ignore events). */
export function bdrvDebugEvent(bs: BdsNode, event: string): void {
  bs.driver.debug?.event(bs, event);
}

/** `bdrv_check_request32`: negative, too large or overflowing requests are -EIO. */
function checkRequest(offset: number, bytes: number): void {
  if (offset < 0 || bytes < 0 || bytes > BDRV_REQUEST_MAX_BYTES || offset > BDRV_MAX_LENGTH - bytes) ioFail(Errno.EIO);
}

/** `bdrv_driver_preadv`. */
export function driverPreadv(host: DriverHost, bs: BdsNode, offset: number, bytes: number, flags: number): Data {
  // A driver taken away during the request (qcow2_signal_corruption) fails what follows.
  if (bs.ejected) ioFail(Errno.ENOMEDIUM);
  if (!bs.driver.preadv) throw new ModelIoUnsupportedError(`reads through a '${bs.driver.name}' node`);
  if (completesLater(bs)) {
    if (host.waitWithoutLock) throw host.waitWithoutLock();
    host.laterReads++;
  }
  return bs.driver.preadv(host, bs, offset, bytes, flags);
}

/** `bdrv_driver_pwritev`. */
export function driverPwritev(host: DriverHost, bs: BdsNode, offset: number, data: Data, flags: number): void {
  if (bs.ejected) ioFail(Errno.ENOMEDIUM);
  if (!bs.driver.pwritev) throw new ModelIoUnsupportedError(`writes through a '${bs.driver.name}' node`);
  if (host.waitWithoutLock && completesLater(bs)) throw host.waitWithoutLock();
  // A FUA write the node cannot pass on is followed by a flush of the node (emulate_flags).
  const emulateFua = (flags & BDRV_REQ_FUA) !== 0 && !bs.fuaWrites;
  if (emulateFua) flags &= ~BDRV_REQ_FUA;
  bs.driver.pwritev(host, bs, offset, data, flags);
  if (emulateFua) bdrvFlush(host, bs);
}

/** `bdrv_driver_pwritev_compressed`: -ENOTSUP unless `block_driver_can_compress`. */
function driverPwritevCompressed(host: DriverHost, bs: BdsNode, offset: number, data: Data): void {
  if (bs.ejected) ioFail(Errno.ENOMEDIUM);
  if (!bs.driver.canCompress) ioFail(Errno.ENOTSUP);
  if (!bs.driver.pwritevCompressed) throw new ModelIoUnsupportedError(`compressed writes through a '${bs.driver.name}' node`);
  bs.driver.pwritevCompressed(host, bs, offset, data);
}

/** `bdrv_is_inserted`: false for a node without its driver, or above one. */
export function isInserted(bs: BdsNode): boolean {
  // An explicit stack: a backing chain may be deeper than the call stack (the bench's 10,000).
  const seen = new Set<BdsNode>();
  const stack = [bs];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (seen.has(node)) continue;
    seen.add(node);
    if (node.ejected) return false;
    for (const c of node.children) stack.push(c.bs);
  }
  return true;
}

/** `bdrv_co_preadv_part` on an edge to `bs`: padded to its alignment, through copy-on-read when asked. */
export function bdrvPreadv(host: DriverHost, bs: BdsNode, offset: number, bytes: number, flags = 0): Data {
  if (!isInserted(bs)) ioFail(Errno.ENOMEDIUM);
  checkRequest(offset, bytes);
  if (bytes === 0) return Data.EMPTY;
  const align = requestAlignment(bs);
  const start = alignDown(offset, align);
  const end = alignUp(offset + bytes, align);
  return alignedPreadv(host, bs, start, end - start, align, flags).slice(offset - start, bytes);
}

/** `bdrv_aligned_preadv`: copy-on-read, then the driver up to the end, zeros past it. */
function alignedPreadv(host: DriverHost, bs: BdsNode, offset: number, bytes: number, align: number, flags: number): Data {
  if (flags & BDRV_REQ_COPY_ON_READ) {
    const rest = flags & ~BDRV_REQ_COPY_ON_READ;
    const a = bdrvIsAllocated(host, bs, offset, bytes);
    if (!a.allocated || a.pnum !== bytes) return copyOnReadv(host, bs, offset, bytes, rest);
    if (rest & BDRV_REQ_PREFETCH) return Data.untouched(bytes);
    flags = rest;
  }
  const total = nodeLength(bs);
  const maxBytes = alignUp(Math.max(0, total - offset), align);
  if (bytes <= maxBytes) return driverPreadv(host, bs, offset, bytes, flags);
  const parts = maxBytes > 0 ? [driverPreadv(host, bs, offset, maxBytes, flags)] : [];
  return Data.concat([...parts, Data.zeros(bytes - maxBytes)]);
}

/**
 * `bdrv_co_pwritev_part` on an edge to `bs`. With BDRV_REQ_ZERO_WRITE `data` only gives the length
 * (`bdrv_co_pwrite_zeroes`). An unaligned request is read-modify-written (`bdrv_pad_request`).
 * `child`, when the caller gives its edge, has its permissions checked as bdrv_co_write_req_prepare does.
 */
export function bdrvPwritev(host: DriverHost, bs: BdsNode, offset: number, data: Data, flags = 0, child?: Child): void {
  if (!isInserted(bs)) ioFail(Errno.ENOMEDIUM);
  checkRequest(offset, data.length);
  if (data.length === 0) return;
  const align = requestAlignment(bs);
  const start = alignDown(offset, align);
  const end = alignUp(offset + data.length, align);
  if (start === offset && end === offset + data.length) {
    alignedPwritev(host, bs, offset, data, flags, child);
    return;
  }
  // The padding is read from the node and written with the request (bdrv_padding_rmw_read).
  const { head, tail } = paddingRmwRead(host, bs, offset, data.length, start, end, align);
  if (!(flags & BDRV_REQ_ZERO_WRITE) || end - start <= align) {
    const body = flags & BDRV_REQ_ZERO_WRITE ? Data.zeros(data.length) : data;
    alignedPwritev(host, bs, start, Data.concat([head, body, tail]), flags & ~BDRV_REQ_ZERO_WRITE, child);
    return;
  }
  // bdrv_co_do_zero_pwritev: the padded head and tail blocks are plain writes, the middle a zero write.
  let pos = start;
  if (head.length > 0) {
    alignedPwritev(host, bs, start, Data.concat([head, Data.zeros(align - head.length)]), flags & ~BDRV_REQ_ZERO_WRITE, child);
    pos += align;
  }
  const middleEnd = tail.length > 0 ? end - align : end;
  if (middleEnd > pos) alignedPwritev(host, bs, pos, Data.zeros(middleEnd - pos), flags, child);
  if (tail.length > 0) alignedPwritev(host, bs, middleEnd, Data.concat([Data.zeros(align - tail.length), tail]), flags & ~BDRV_REQ_ZERO_WRITE, child);
}

/**
 * `bdrv_padding_rmw_read`: the partial blocks at either end, read back with blkdebug's events around
 * them. Head and tail are read in one go (merge_reads) when the padded request is one block, or two
 * blocks with padding at both ends.
 */
function paddingRmwRead(host: DriverHost, bs: BdsNode, offset: number, bytes: number, start: number, end: number, align: number): { head: Data; tail: Data } {
  const hasHead = start < offset;
  const hasTail = end > offset + bytes;
  const bufLen = end - start > align && hasHead && hasTail ? 2 * align : align;
  const mergeReads = end - start === bufLen;
  // bdrv_co_pwritev_part ignores a failed padding read and writes its buffer as it is: bytes the
  // model cannot know.
  const read = (at: number, n: number): Data => {
    try {
      return bdrvPreadv(host, bs, at, n);
    } catch (e) {
      if (e instanceof IoError) throw new ModelIoUnsupportedError("a write whose read-modify-write read failed (QEMU 7.2 writes its uninitialised padding buffer)");
      throw e;
    }
  };
  const readHead = () => (hasHead ? read(start, offset - start) : Data.EMPTY);
  const readTail = () => (hasTail ? read(offset + bytes, end - offset - bytes) : Data.EMPTY);
  if (mergeReads) {
    if (hasHead) bdrvDebugEvent(bs, "pwritev_rmw_head");
    if (hasTail) bdrvDebugEvent(bs, "pwritev_rmw_tail");
    // One read of the whole padded request.
    const buf = read(start, end - start);
    const head = buf.slice(0, offset - start);
    const tail = buf.slice(offset + bytes - start, end - offset - bytes);
    if (hasHead) bdrvDebugEvent(bs, "pwritev_rmw_after_head");
    if (hasTail) bdrvDebugEvent(bs, "pwritev_rmw_after_tail");
    return { head, tail };
  }
  let head = Data.EMPTY;
  if (hasHead) {
    bdrvDebugEvent(bs, "pwritev_rmw_head");
    head = readHead();
    bdrvDebugEvent(bs, "pwritev_rmw_after_head");
  }
  let tail = Data.EMPTY;
  if (hasTail) {
    bdrvDebugEvent(bs, "pwritev_rmw_tail");
    tail = readTail();
    bdrvDebugEvent(bs, "pwritev_rmw_after_tail");
  }
  return { head, tail };
}

/**
 * `bdrv_co_pwrite_zeroes(child)`: a driver zeroing a range of its child, which may unmap only if
 * it was opened with discard=unmap.
 */
export function bdrvPwriteZeroes(host: DriverHost, bs: BdsNode, offset: number, bytes: number, flags = 0, child?: Child): void {
  if (!bs.unmap) flags &= ~BDRV_REQ_MAY_UNMAP;
  bdrvPwritev(host, bs, offset, Data.zeros(bytes), flags | BDRV_REQ_ZERO_WRITE, child);
}

/**
 * `blk_co_pwrite_zeroes`: a BlockBackend's zero write (qemu-io's `write -z`, a mirror's target)
 * reaches its node with the flags it was given, BDRV_REQ_MAY_UNMAP included, whatever the node's
 * discard option.
 */
export function blkPwriteZeroes(host: DriverHost, bs: BdsNode, offset: number, bytes: number, flags = 0): void {
  bdrvPwritev(host, bs, offset, Data.zeros(bytes), flags | BDRV_REQ_ZERO_WRITE);
}

/** Where bdrv_co_write_req_prepare asserts a write's permissions (Debian's 7.2 build). */
const WRITE_REQ_PREPARE = { file: "../../block/io.c", line: 1988, func: "bdrv_co_write_req_prepare" };

/** `bdrv_aligned_pwritev` with `bdrv_co_write_req_prepare` and `_finish`. */
function alignedPwritev(host: DriverHost, bs: BdsNode, offset: number, data: Data, flags: number, child: Child | undefined): void {
  // Before anything else, and nothing recorded (bdrv_co_write_req_finish is not reached).
  if (hasReadonlyBitmaps(bs)) ioFail(Errno.EPERM);
  // bs->total_sectors as the write finds it.
  const known = totalSectorsLength(bs);
  let done = false;
  try {
    alignedPwritevPrepared(host, bs, offset, data, flags, known, child);
    done = true;
  } finally {
    bs.writeGen = (bs.writeGen ?? 0) + 1;
    if (done) growDirtyBitmaps(bs, known, offset + data.length);
    if (data.length > 0 && offset + data.length > (bs.wrHighestOffset ?? 0)) bs.wrHighestOffset = offset + data.length;
    // bdrv_co_write_req_finish marks the range dirty whether the write succeeded or not.
    setDirty(bs, offset, data.length);
  }
}

/**
 * `bdrv_co_flush`: nothing on a read-only node; a driver that flushes the stack itself flushes the
 * nodes it names; else the driver writes back what it caches, and, unless the node was opened with
 * cache.no-flush or nothing changed it since its last flush, forces it to the disk, each step
 * announced to the primary child (a blkdebug node there runs its `flush_to_os` and `flush_to_disk`
 * rules); then every child it may write is flushed the same way, all of them even after one fails,
 * and the first failure is the flush's. Only a flush that succeeded records the write generation.
 */
export function bdrvFlush(host: DriverHost, bs: BdsNode): void {
  if (bs.readOnly || !isInserted(bs)) return;
  const gen = bs.writeGen ?? 0;
  if (bs.driver.flush || bs.driver.flushVia) {
    if (bs.driver.flush) bs.driver.flush(host, bs);
    else for (const n of bs.driver.flushVia!(bs)) bdrvFlush(host, n);
    bs.flushedGen = gen;
    return;
  }
  const primary = primaryChild(bs);
  // Even with cache.no-flush, caches go to the OS.
  if (primary) bdrvDebugEvent(primary.bs, "flush_to_os");
  bs.driver.flushToOs?.(host, bs);
  if (!optBool(bs.options["cache.no-flush"]) && (bs.flushedGen ?? 0) !== gen) {
    if (primary) bdrvDebugEvent(primary.bs, "flush_to_disk");
    bs.driver.flushToDisk?.(host, bs);
  }
  let failure: IoError | undefined;
  for (const c of bs.children) {
    if (!(c.perm & (BLK_PERM_WRITE | BLK_PERM_WRITE_UNCHANGED))) continue;
    try {
      bdrvFlush(host, c.bs);
    } catch (e) {
      if (!(e instanceof IoError)) throw e;
      failure ??= e;
    }
  }
  if (failure) throw failure;
  bs.flushedGen = gen;
}

/** A flush whose failure nobody hears of (bdrv_close's, a reopen's in the model): an I/O error is dropped. */
export function bdrvFlushQuietly(host: DriverHost, bs: BdsNode): void {
  try {
    bdrvFlush(host, bs);
  } catch (e) {
    if (!(e instanceof IoError)) throw e;
  }
}

/**
 * bdrv_co_write_req_finish: a write that succeeded past the node's end (`known`) makes it longer,
 * and every dirty bitmap of the node takes the new end, in whole sectors (`bdrv_dirty_bitmap_truncate`).
 * A bitmap shorter than a node that grew another way is left as it is.
 */
function growDirtyBitmaps(bs: BdsNode, known: number, end: number): void {
  if (!bs.dirtyBitmaps) return;
  const bytes = Math.ceil(end / 512) * 512;
  if (bytes <= known) return;
  for (const bitmap of bs.dirtyBitmaps) bitmap.truncate(bytes);
}

/**
 * `bdrv_write_threshold_check_write`, from bdrv_co_write_req_prepare: a write or discard that ends
 * past the node's threshold announces by how much, once; the threshold is then off.
 */
function writeThresholdCheck(host: DriverHost, bs: BdsNode, offset: number, bytes: number): void {
  const stored = bs.writeThreshold ?? 0;
  // Compared as the uint64 it is: a negative int64 view lies beyond any request's end.
  const threshold = stored < 0 ? stored + 2 ** 64 : stored;
  const end = offset + bytes;
  if (threshold === 0 || threshold >= end) return;
  host.emit("BLOCK_WRITE_THRESHOLD", { "node-name": bs.name, "amount-exceeded": end - threshold, "write-threshold": threshold });
  bs.writeThreshold = 0;
}

/** `bdrv_set_dirty`: every enabled dirty bitmap of the node (a user's, a job's) records the range. */
export function setDirty(bs: BdsNode, offset: number, bytes: number): void {
  if (!bs.dirtyBitmaps || bytes === 0) return;
  for (const bitmap of bs.dirtyBitmaps) {
    if (!bitmap.recording) continue;
    // A bitmap made while the node was shorter, on a node that grew below it (a resize of its
    // file): QEMU 7.2 never resizes it, and a request past its end aborts.
    bitmap.set(offset, bytes);
  }
}

function alignedPwritevPrepared(host: DriverHost, bs: BdsNode, offset: number, data: Data, flags: number, known: number, child: Child | undefined): void {
  if (bs.readOnly) {
    // bdrv_co_write_req_prepare refuses it; PWRITEV_DONE is announced all the same.
    bdrvDebugEvent(bs, "pwritev_done");
    ioFail(Errno.EPERM);
  }
  // Only a parent that may resize the node writes past its end (a guest's BlockBackend never gets
  // that far; block-copy to a shorter target, blkverify to a shorter raw child do).
  if (child && offset + data.length > known && !(child.perm & BLK_PERM_RESIZE)) {
    qemuAssert(WRITE_REQ_PREPARE, "offset + bytes <= bs->total_sectors * BDRV_SECTOR_SIZE || child->perm & BLK_PERM_RESIZE");
  }
  writeThresholdCheck(host, bs, offset, data.length);
  const detect = bs.options["detect-zeroes"];
  if ((detect === "on" || detect === "unmap") && !(flags & BDRV_REQ_ZERO_WRITE) && bs.driver.pwriteZeroes && data.isZero()) {
    flags |= BDRV_REQ_ZERO_WRITE;
    if (detect === "unmap") flags |= BDRV_REQ_MAY_UNMAP;
  }
  try {
    if (flags & BDRV_REQ_ZERO_WRITE) {
      bdrvDebugEvent(bs, "pwritev_zero");
      doPwriteZeroes(host, bs, offset, data.length, flags);
    } else if (flags & BDRV_REQ_WRITE_COMPRESSED) {
      driverPwritevCompressed(host, bs, offset, data);
    } else {
      bdrvDebugEvent(bs, "pwritev");
      // In pieces of at most max_transfer: those before a failed one stay written.
      const maxTransfer = alignDown(Math.min(maxTransferOf(bs) || INT_MAX, INT_MAX), requestAlignment(bs));
      for (let done = 0; done < data.length; done += maxTransfer) {
        const num = Math.min(data.length - done, maxTransfer);
        // An emulated FUA flushes once, after the last piece.
        const last = done + num === data.length;
        const pieceFlags = last || bs.fuaWrites ? flags : flags & ~BDRV_REQ_FUA;
        driverPwritev(host, bs, offset + done, num === data.length ? data : data.slice(done, num), pieceFlags);
      }
    }
  } catch (e) {
    if (e instanceof IoError) bdrvDebugEvent(bs, "pwritev_done");
    throw e;
  }
  bdrvDebugEvent(bs, "pwritev_done");
  // bdrv_co_write_req_finish: a write past the end makes the node longer (in whole sectors).
  const endSector = alignUp(offset + data.length, BDRV_SECTOR_SIZE);
  if (bs.driver.getLength) {
    if (endSector > totalSectorsLength(bs)) bs.lengthCache = endSector;
  } else if (endSector > bs.size) {
    bs.size = endSector;
  }
}

/** `supported_zero_flags`, the part that matters here. */
export function supportedZeroFlags(bs: BdsNode): number {
  if (!bs.driver.pwriteZeroes) return 0;
  return BDRV_REQ_NO_FALLBACK | (bs.driver.supportsZeroUnmap?.(bs) ? BDRV_REQ_MAY_UNMAP : 0) | (bs.fuaZeroWrites ? BDRV_REQ_FUA : 0);
}

/**
 * `bdrv_co_do_pwrite_zeroes`: pieces split at the driver's zero alignment go to its zero hook; what
 * it cannot do (-ENOTSUP) is written as a zeroed buffer, unless the caller said not to fall back.
 * A FUA the node cannot pass on (to its zero hook, or to the writes of the fallback) is one flush
 * of the node once every piece is written.
 */
export function doPwriteZeroes(host: DriverHost, bs: BdsNode, offset: number, bytes: number, flags: number): void {
  const supported = supportedZeroFlags(bs);
  if ((flags & ~supported) & BDRV_REQ_NO_FALLBACK) ioFail(Errno.ENOTSUP);
  const limits = bs.driver.ioLimits?.(bs) ?? {};
  const alignment = Math.max(limits.pwriteZeroesAlignment ?? 0, requestAlignment(bs));
  const maxTransfer = Math.min(maxTransferOf(bs) || MAX_BOUNCE_BUFFER, MAX_BOUNCE_BUFFER);
  const maxWriteZeroes = alignDown(limits.maxPwriteZeroes || Number.MAX_SAFE_INTEGER, alignment);
  let head = offset % alignment;
  const tail = (offset + bytes) % alignment;
  let needFlush = false;
  while (bytes > 0) {
    let num = bytes;
    if (head) {
      // Up to the first aligned offset, and no more than one transfer (it may fall back to a write).
      num = Math.min(bytes, maxTransfer, alignment - head);
      head = (head + num) % alignment;
    } else if (tail && num > alignment) {
      num -= tail;
    }
    num = Math.min(num, maxWriteZeroes);
    let unsupported = !bs.driver.pwriteZeroes;
    if (bs.driver.pwriteZeroes) {
      try {
        bs.driver.pwriteZeroes(host, bs, offset, num, flags & supported);
      } catch (e) {
        if (!(e instanceof IoError && e.errno === Errno.ENOTSUP)) throw e;
        unsupported = true;
      }
      if (!unsupported && flags & BDRV_REQ_FUA && !bs.fuaZeroWrites) needFlush = true;
    }
    if (unsupported) {
      if (flags & BDRV_REQ_NO_FALLBACK) ioFail(Errno.ENOTSUP);
      let writeFlags = flags & ~(BDRV_REQ_ZERO_WRITE | BDRV_REQ_MAY_UNMAP);
      if (flags & BDRV_REQ_FUA && !bs.fuaWrites) {
        writeFlags &= ~BDRV_REQ_FUA;
        needFlush = true;
      }
      // One transfer's worth of zeros; the rest tries the zero write again.
      num = Math.min(num, maxTransfer);
      driverPwritev(host, bs, offset, Data.zeros(num), writeFlags);
    }
    offset += num;
    bytes -= num;
  }
  if (needFlush) bdrvFlush(host, bs);
}

/**
 * `bdrv_co_pdiscard`: nothing unless the node was opened with discard=unmap; pieces split at the
 * driver's discard alignment; a piece the driver ignores (-ENOTSUP) is no error.
 */
export function bdrvPdiscard(host: DriverHost, bs: BdsNode, offset: number, bytes: number): void {
  if (!isInserted(bs)) ioFail(Errno.ENOMEDIUM);
  if (hasReadonlyBitmaps(bs)) ioFail(Errno.EPERM);
  checkRequest(offset, bytes);
  const pdiscard = bs.driver.pdiscard;
  if (!bs.unmap || !pdiscard) return;
  try {
    discardPieces(host, bs, offset, bytes, pdiscard);
  } finally {
    // The tracked request's range, whatever the driver did with it (bdrv_co_write_req_finish).
    bs.writeGen = (bs.writeGen ?? 0) + 1;
    setDirty(bs, offset, bytes);
  }
}

function discardPieces(host: DriverHost, bs: BdsNode, offset: number, bytes: number, pdiscard: NonNullable<BdsNode["driver"]["pdiscard"]>): void {
  if (bs.readOnly) ioFail(Errno.EPERM);
  writeThresholdCheck(host, bs, offset, bytes);
  const limits = bs.driver.ioLimits?.(bs) ?? {};
  const requestAlign = requestAlignment(bs);
  const align = Math.max(pdiscardAlignmentOf(bs), requestAlign);
  const maxPdiscard = alignDown(limits.maxPdiscard || Number.MAX_SAFE_INTEGER, align);
  let head = offset % align;
  let tail = (offset + bytes) % align;
  while (bytes > 0) {
    let num = bytes;
    if (head) {
      // To the discard alignment, in whole request-alignment units where it can be.
      num = Math.min(bytes, align - head);
      if (num % requestAlign) num %= requestAlign;
      head = (head + num) % align;
    } else if (tail) {
      if (num > align) {
        num -= tail;
      } else if (tail % requestAlign && tail > requestAlign) {
        // The whole request-alignment units of the tail, then the bytes past them.
        tail %= requestAlign;
        num -= tail;
      }
    }
    num = Math.min(num, maxPdiscard);
    try {
      pdiscard(host, bs, offset, num);
    } catch (e) {
      if (!(e instanceof IoError && e.errno === Errno.ENOTSUP)) throw e;
    }
    offset += num;
    bytes -= num;
  }
}
