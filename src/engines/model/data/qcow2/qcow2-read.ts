/**
 * Reading a qcow2 image and asking it for block status (block/qcow2.c `qcow2_co_preadv_part`,
 * `qcow2_co_block_status`; block/qcow2-cluster.c `qcow2_get_host_offset`): unallocated clusters
 * read through to the backing node (or as zeros without one), zero clusters as zeros, compressed
 * clusters inflated, data clusters from the data file.
 */
import type { BlockStatusAnswer, DriverHost } from "../../drivers/driver.js";
import type { BdsNode } from "../../graph.js";
import { bdrvDebugEvent, bdrvPreadv } from "../block-io.js";
import { Data } from "../data.js";
import { Errno, InjectedIoError, ioFail, ModelIoUnsupportedError } from "../io-error.js";
import { BDRV_BLOCK_DATA, BDRV_BLOCK_OFFSET_VALID, BDRV_BLOCK_ZERO } from "../request-flags.js";
import { inflateCluster } from "./qcow2-compress.js";
import type { Qcow2Image } from "./qcow2-image.js";
import { cHex } from "./qcow2-corruption.js";
import { type ClusterType, clusterType, entryOffset, L2E_OFFSET_MASK, parseCompressed } from "./qcow2-layout.js";

/** What the qcow2 data path works on: the node, its metadata and the nodes around it. */
export interface Qcow2Ctx {
  host: DriverHost;
  node: BdsNode;
  img: Qcow2Image;
  /** Where guest data lives: the external data file, or the image file itself. */
  data: BdsNode;
  hasDataFile: boolean;
  /**
   * s->data_file was left stale by a failed reopen: has_data_file() holds in QEMU, but the model's
   * lookups keep to the image file (the `data` getter says what touching the pointer does).
   */
  staleDataFile?: boolean;
  /** bs->backing's node, or null. */
  backing: BdsNode | null;
  /** data_file_is_raw: the raw external data file's bytes are the guest's, and kept so. */
  dataFileRaw?: boolean;
  /** The pass-discard-other option: what freeing a grown L1 table's old clusters passes down. */
  discardOther?: boolean;
  /** `qcow2_mark_dirty`, with lazy refcounts on: before an allocating write links its clusters. */
  markDirty?: () => void;
}

/** What `qcow2_get_host_offset` finds at a guest offset. */
export interface HostMapping {
  type: ClusterType;
  /** For normal and zero-alloc clusters: the host offset of the first byte; compressed: the entry. */
  host: number;
  entry: bigint;
  /** How many bytes from the offset are of this type (and, for allocated ones, contiguous). */
  bytes: number;
}

/** `qcow2_get_host_offset`: stops at the end of the L2 table, at a type change or a host gap. */
export function getHostOffset(q: Qcow2Ctx, offset: number, bytes: number): HostMapping {
  const img = q.img;
  const inCluster = img.offsetIntoCluster(offset);
  const l2Index = img.l2Index(offset);
  const needed = Math.min(bytes + inCluster, (img.l2Size - l2Index) * img.clusterSize);
  const found = img.findTable(offset);
  if (!found) return { type: "unallocated", host: 0, entry: 0n, bytes: needed - inCluster };
  const first = found.table[found.index]!;
  const type = clusterType(first, q.hasDataFile);
  if (img.version < 3 && (type === "zero-plain" || type === "zero-alloc")) {
    img.corrupt(true, -1, -1, `Zero cluster entry found in pre-v3 image (L2 offset: ${cHex(found.l2Offset)}, L2 index: ${cHex(found.index % img.l2SliceEntries)})`);
  }
  if (type === "compressed") return { type, host: 0, entry: first, bytes: Math.min(needed, img.clusterSize) - inCluster };
  const checkOffset = type === "normal" || type === "zero-alloc";
  if (checkOffset && (first & L2E_OFFSET_MASK) % BigInt(img.clusterSize) !== 0n) {
    img.corrupt(true, -1, -1, `Cluster allocation offset ${cHex(first & L2E_OFFSET_MASK)} unaligned (L2 offset: ${cHex(found.l2Offset)}, L2 index: ${cHex(found.index % img.l2SliceEntries)})`);
  }
  const maxClusters = Math.ceil(needed / img.clusterSize);
  let count = 1;
  let expected = entryOffset(first);
  while (count < maxClusters) {
    const e = found.table[found.index + count]!;
    if (clusterType(e, q.hasDataFile) !== type) break;
    if (checkOffset) {
      expected += img.clusterSize;
      if (entryOffset(e) !== expected) break;
    }
    count++;
  }
  const available = Math.min(count * img.clusterSize, needed);
  return { type, host: checkOffset ? entryOffset(first) + inCluster : 0, entry: first, bytes: available - inCluster };
}

/** A guest data request of the qcow2 node, after the blkdebug event QEMU sends its file for it. */
export function dataRequest<T>(q: Qcow2Ctx, event: string, request: () => T): T {
  bdrvDebugEvent(q.img.file, event);
  return request();
}

/**
 * One task of a request in parts (an AioTaskPool's): a failure blkdebug injects while parts are
 * still to start is not followed, as QEMU starts them (up to QCOW2_MAX_WORKERS) before the failed
 * task's coroutine comes back; `more` says whether any are.
 */
export function taskPart<T>(more: boolean, task: () => T): T {
  try {
    return task();
  } catch (e) {
    if (more && e instanceof InjectedIoError) {
      throw new ModelIoUnsupportedError("a blkdebug error injected into one part of a qcow2 request in several (QEMU's task pool starts the parts after it before it sees the failure)");
    }
    throw e;
  }
}

/** `qcow2_co_preadv_compressed`: the whole cluster, inflated. */
export function readCompressedCluster(q: Qcow2Ctx, entry: bigint): Buffer {
  const c = parseCompressed(entry, q.img.clusterBits);
  const raw = dataRequest(q, "read_compressed", () => bdrvPreadv(q.host, q.data, c.offset, c.size).toBuffer());
  return inflateCluster(raw, q.img.clusterSize) ?? ioFail(Errno.EIO);
}

/** `qcow2_co_preadv_part`, each part as `qcow2_co_preadv_task` reads it. */
export function qcow2Preadv(q: Qcow2Ctx, offset: number, bytes: number): Data {
  const parts: Data[] = [];
  while (bytes > 0) {
    const m = getHostOffset(q, offset, bytes);
    const n = m.bytes;
    const more = bytes > n;
    switch (m.type) {
      case "zero-plain":
      case "zero-alloc":
        parts.push(Data.zeros(n));
        break;
      case "unallocated": {
        const backing = q.backing;
        if (!backing) {
          parts.push(Data.zeros(n));
          break;
        }
        bdrvDebugEvent(q.img.file, "read_backing_aio");
        parts.push(taskPart(more, () => bdrvPreadv(q.host, backing, offset, n)));
        break;
      }
      case "compressed": {
        const inCluster = q.img.offsetIntoCluster(offset);
        parts.push(Data.bytes(taskPart(more, () => readCompressedCluster(q, m.entry)).subarray(inCluster, inCluster + n)));
        break;
      }
      case "normal":
        parts.push(taskPart(more, () => dataRequest(q, "read_aio", () => bdrvPreadv(q.host, q.data, m.host, n))));
        break;
    }
    offset += n;
    bytes -= n;
  }
  return Data.concat(parts);
}

/** `qcow2_co_block_status`. */
export function qcow2BlockStatus(q: Qcow2Ctx, offset: number, bytes: number): BlockStatusAnswer {
  const m = getHostOffset(q, offset, Math.min(bytes, 2 ** 31 - 1));
  let status = 0;
  let map = 0;
  let file: BdsNode | null = null;
  if (m.type === "normal" || m.type === "zero-alloc") {
    map = m.host;
    file = q.data;
    status |= BDRV_BLOCK_OFFSET_VALID;
  }
  if (m.type === "zero-plain" || m.type === "zero-alloc") status |= BDRV_BLOCK_ZERO;
  else if (m.type !== "unallocated") status |= BDRV_BLOCK_DATA;
  return { status, pnum: m.bytes, map, file };
}
