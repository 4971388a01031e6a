/**
 * Writing guest data into a qcow2 image (block/qcow2.c `qcow2_co_pwritev_part`, block/qcow2-cluster.c
 * `qcow2_alloc_host_offset` with `handle_copied`, `handle_alloc`, `calculate_l2_meta`,
 * `handle_alloc_space`, `merge_cow`, `perform_cow` and `qcow2_alloc_cluster_link_l2`), and
 * compressed writes (`qcow2_co_pwritev_compressed_part`). Clusters that can be written in place
 * are; others get new clusters, in runs as QEMU allocates them, with the untouched head and tail
 * of each new cluster copied from what the guest saw there before (the backing file, zeros, the old
 * cluster), or zeroed in one request when nothing below holds them.
 */
import { clusterTable } from "./qcow2-grow-l1.js";
import { bdrvIsZeroFast } from "../block-status.js";
import { bdrvDebugEvent, bdrvPwritev, bdrvPwriteZeroes, supportedZeroFlags } from "../block-io.js";
import { BDRV_REQ_NO_FALLBACK } from "../request-flags.js";
import { Data } from "../data.js";
import { Errno, InjectedIoError, IoError, ioFail, ModelIoUnsupportedError } from "../io-error.js";
import { deflateCluster } from "./qcow2-compress.js";
import { cHex } from "./qcow2-corruption.js";
import { clusterType, compressedEntry, entryOffset, L2E_OFFSET_MASK, QCOW_OFLAG_COPIED, QCOW_OFLAG_ZERO } from "./qcow2-layout.js";
import { dataRequest, type Qcow2Ctx, qcow2Preadv, taskPart } from "./qcow2-read.js";
import type { L2Table } from "./qcow2-image.js";

/** BDRV_REQUEST_MAX_BYTES >> cluster_bits caps one allocation. */
const REQUEST_MAX_BYTES = 2147483136;

/** QCowL2Meta: a run of clusters whose L2 entries change once the data is in place. */
interface L2Meta {
  /** Host offset of the run's first cluster. */
  allocOffset: number;
  /** Guest offset of the run's first cluster. */
  offset: number;
  nbClusters: number;
  keepOld: boolean;
  cowStart: { offset: number; bytes: number };
  cowEnd: { offset: number; bytes: number };
  /** handle_alloc_space zeroed the COW regions already. */
  skipCow?: boolean;
}

const INV = -1;

/** `cluster_needs_new_alloc`. */
function needsNewAlloc(q: Qcow2Ctx, entry: bigint): boolean {
  const t = clusterType(entry, q.hasDataFile);
  return !((t === "normal" || t === "zero-alloc") && entry & QCOW_OFLAG_COPIED);
}

/** `count_single_write_clusters`. */
function countSingleWrite(q: Qcow2Ctx, n: number, table: L2Table, index: number, newAlloc: boolean): number {
  let expected = entryOffset(table[index]!);
  let i = 0;
  for (; i < n; i++) {
    const e = table[index + i]!;
    if (needsNewAlloc(q, e) !== newAlloc) break;
    if (!newAlloc) {
      if (expected !== entryOffset(e)) break;
      expected += q.img.clusterSize;
    }
  }
  return i;
}

/** How many clusters one step may look at from `guest` (to the end of the L2 table, within a request). */
function clustersToLookAt(q: Qcow2Ctx, guest: number, bytes: number): number {
  const img = q.img;
  const n = img.sizeToClusters(img.offsetIntoCluster(guest) + bytes);
  return Math.min(n, img.l2Size - img.l2Index(guest), Math.floor(REQUEST_MAX_BYTES / img.clusterSize));
}

/** `calculate_l2_meta` for images without subclusters; undefined when nothing is to copy or link. */
function calculateL2Meta(q: Qcow2Ctx, hostCluster: number, guest: number, bytes: number, table: L2Table, index: number, keepOld: boolean): L2Meta | undefined {
  const img = q.img;
  const cowStartTo = img.offsetIntoCluster(guest);
  const cowEndFrom = cowStartTo + bytes;
  const nbClusters = img.sizeToClusters(cowEndFrom);
  const types = Array.from({ length: nbClusters }, (_, i) => clusterType(table[index + i]!, q.hasDataFile));
  if (keepOld && types.every((t) => t === "normal")) return undefined;
  const first = types[0]!;
  const last = types[nbClusters - 1]!;
  const cowStartFrom = keepOld && first === "normal" ? cowStartTo : 0;
  const cowEndTo = keepOld && last === "normal" ? cowEndFrom : Math.ceil(cowEndFrom / img.clusterSize) * img.clusterSize;
  return {
    allocOffset: hostCluster,
    offset: img.startOfCluster(guest),
    nbClusters,
    keepOld,
    cowStart: { offset: cowStartFrom, bytes: cowStartTo - cowStartFrom },
    cowEnd: { offset: cowEndFrom, bytes: cowEndTo - cowEndFrom },
  };
}

/** `handle_copied`: clusters at `guest` that can be overwritten in place (at `host`, if given). */
function handleCopied(q: Qcow2Ctx, guest: number, host: number, bytes: number, metas: L2Meta[]): { ret: number; host: number; bytes: number } {
  const img = q.img;
  const n = clustersToLookAt(q, guest, bytes);
  const { table, index } = clusterTable(q, guest);
  const entry = table[index]!;
  if (needsNewAlloc(q, entry)) return { ret: 0, host, bytes };
  const clusterOffset = entryOffset(entry);
  if ((entry & L2E_OFFSET_MASK) % BigInt(img.clusterSize) !== 0n) {
    const what = entry & QCOW_OFLAG_ZERO ? "Preallocated zero" : "Data";
    img.corrupt(true, -1, -1, `${what} cluster offset ${cHex(entry & L2E_OFFSET_MASK)} unaligned (guest offset: ${cHex(guest)})`);
  }
  if (host !== INV && clusterOffset !== host) return { ret: 0, host, bytes: 0 };
  const keep = countSingleWrite(q, n, table, index, false);
  const len = Math.min(bytes, keep * img.clusterSize - img.offsetIntoCluster(guest));
  const m = calculateL2Meta(q, clusterOffset, guest, len, table, index, true);
  if (m) metas.push(m);
  return { ret: 1, host: clusterOffset + img.offsetIntoCluster(guest), bytes: len };
}

/** `do_alloc_cluster_offset`: new clusters anywhere, or (given `host`) right there; how many. */
function doAllocClusterOffset(q: Qcow2Ctx, guest: number, host: number, n: number): { host: number; n: number } {
  const img = q.img;
  if (q.hasDataFile) return { host: img.startOfCluster(guest), n };
  if (host === INV) return { host: img.allocClusters(n * img.clusterSize), n };
  return { host, n: img.refcounts.allocClustersAt(host, n) };
}

/** `handle_alloc`: new clusters for what cannot be written in place. */
function handleAlloc(q: Qcow2Ctx, guest: number, host: number, bytes: number, metas: L2Meta[]): { ret: number; host: number; bytes: number } {
  const img = q.img;
  let n = clustersToLookAt(q, guest, bytes);
  const { table, index } = clusterTable(q, guest);
  n = countSingleWrite(q, n, table, index, true);
  const alloc = doAllocClusterOffset(q, guest, host === INV ? INV : img.startOfCluster(host), n);
  if (alloc.n === 0) return { ret: 0, host, bytes: 0 };
  const inCluster = img.offsetIntoCluster(guest);
  const nbBytes = Math.min(bytes + inCluster, alloc.n * img.clusterSize);
  const len = Math.min(bytes, nbBytes - inCluster);
  const m = calculateL2Meta(q, alloc.host, guest, len, table, index, false);
  if (m) metas.push(m);
  return { ret: 1, host: alloc.host + inCluster, bytes: len };
}

/** `qcow2_alloc_host_offset`: a host range for the start of [offset, offset + bytes); it may be shorter. */
function allocHostOffset(q: Qcow2Ctx, offset: number, bytes: number): { host: number; bytes: number; metas: L2Meta[] } {
  const metas: L2Meta[] = [];
  let start = offset;
  let remaining = bytes;
  let clusterOffset = INV;
  let hostOffset = INV;
  let cur = 0;
  for (;;) {
    if (hostOffset === INV && clusterOffset !== INV) hostOffset = clusterOffset;
    start += cur;
    remaining -= cur;
    if (clusterOffset !== INV) clusterOffset += cur;
    if (remaining === 0) break;
    let r = handleCopied(q, start, clusterOffset, remaining, metas);
    if (r.ret) {
      clusterOffset = r.host;
      cur = r.bytes;
      continue;
    }
    if (r.bytes === 0) break;
    r = handleAlloc(q, start, clusterOffset, remaining, metas);
    if (!r.ret) break;
    clusterOffset = r.host;
    cur = r.bytes;
  }
  return { host: hostOffset, bytes: bytes - remaining, metas };
}

/** `do_perform_cow_read`: what the guest saw in [region) of the run before the write, read through qcow2 itself. */
function cowRead(q: Qcow2Ctx, m: L2Meta, region: { offset: number; bytes: number }): Data {
  if (region.bytes === 0) return Data.EMPTY;
  bdrvDebugEvent(q.img.file, "cow_read");
  return qcow2Preadv(q, m.offset + region.offset, region.bytes);
}

/** A COW region as read, to be written into the new cluster. */
function checkedCow(data: Data): Data {
  // A backing that leaves the buffer alone (null-co without read-zeroes) leaves QEMU's COW bounce
  // buffer uninitialised, and QEMU writes that into the new cluster.
  if (data.segments.some((seg) => seg.kind === "untouched")) throw new ModelIoUnsupportedError("copy-on-write from a backing node that leaves the buffer uninitialised");
  return data;
}

/** `qcow2_alloc_cluster_link_l2`: the new entries go in; old clusters of a moved run are freed. */
function linkL2(q: Qcow2Ctx, m: L2Meta): void {
  q.markDirty?.();
  const img = q.img;
  // qcow2_need_accurate_refcounts: the new entries are written after the refcounts counting them.
  if (!img.dirty) img.refcounts.setL2DependsOnRefcounts();
  const { l2Offset, table, index } = clusterTable(q, m.offset);
  const old: bigint[] = [];
  for (let i = 0; i < m.nbClusters; i++) {
    const e = table[index + i]!;
    if (e !== 0n) old.push(e);
    img.setL2Entry(l2Offset, index + i, BigInt(m.allocOffset + i * img.clusterSize) | QCOW_OFLAG_COPIED);
  }
  // QCOW2_DISCARD_NEVER: the old clusters are reused by the next write anyway.
  if (!m.keepOld) for (const e of old) img.freeAnyCluster(e, { node: q.data, external: q.hasDataFile }, false);
}

/**
 * `handle_alloc_space`: where both COW regions of a new run read as zeros as far as block status
 * tells without reading them (`is_zero_cow`, `bdrv_co_is_zero_fast`: unallocated down the whole
 * chain, or zero clusters and zero-flagged ranges on the way), the run's span from the head to the
 * tail is zeroed in one request that must not fall back to writing zeros (for a file: fallocate,
 * which also grows it), and the COW is skipped.
 */
function handleAllocSpace(q: Qcow2Ctx, metas: L2Meta[]): void {
  if (!(supportedZeroFlags(q.data) & BDRV_REQ_NO_FALLBACK)) return;
  for (const m of metas) {
    if (m.cowStart.bytes === 0 && m.cowEnd.bytes === 0) continue;
    const zeroCow =
      bdrvIsZeroFast(q.host, q.node, m.offset + m.cowStart.offset, m.cowStart.bytes) &&
      bdrvIsZeroFast(q.host, q.node, m.offset + m.cowEnd.offset, m.cowEnd.bytes);
    if (!zeroCow) continue;
    const bytes = m.cowEnd.offset + m.cowEnd.bytes - m.cowStart.offset;
    try {
      dataRequest(q, "cluster_alloc_space", () => bdrvPwriteZeroes(q.host, q.data, m.allocOffset + m.cowStart.offset, bytes, BDRV_REQ_NO_FALLBACK));
    } catch (e) {
      if (e instanceof IoError && e.errno === Errno.ENOTSUP) continue;
      throw e;
    }
    m.skipCow = true;
  }
}

/** `merge_cow`: the run whose COW regions the write lies exactly between, to go out as one request. */
function mergeCow(offset: number, bytes: number, metas: L2Meta[]): L2Meta | undefined {
  return metas.find(
    (m) =>
      (m.cowStart.bytes !== 0 || m.cowEnd.bytes !== 0) &&
      !m.skipCow &&
      m.offset + m.cowStart.offset + m.cowStart.bytes === offset &&
      m.offset + m.cowEnd.offset === offset + bytes,
  );
}

/** perform_cow reads both regions at once when the guest data between them is at most this long. */
const MERGE_READS_MAX_GAP = 16384;

/**
 * `perform_cow`: the regions read (in one request, `merge_reads`, when both are there and close),
 * then written, in one request with the guest data between them when merged.
 */
function performCow(q: Qcow2Ctx, m: L2Meta, merged: Data | undefined): void {
  if ((m.cowStart.bytes === 0 && m.cowEnd.bytes === 0) || m.skipCow) return;
  const gap = m.cowEnd.offset - (m.cowStart.offset + m.cowStart.bytes);
  let startData: Data;
  let endData: Data;
  if (m.cowStart.bytes && m.cowEnd.bytes && gap <= MERGE_READS_MAX_GAP) {
    const all = cowRead(q, m, { offset: m.cowStart.offset, bytes: m.cowEnd.offset + m.cowEnd.bytes - m.cowStart.offset });
    startData = checkedCow(all.slice(0, m.cowStart.bytes));
    endData = checkedCow(all.slice(m.cowStart.bytes + gap, m.cowEnd.bytes));
  } else {
    startData = checkedCow(cowRead(q, m, m.cowStart));
    endData = checkedCow(cowRead(q, m, m.cowEnd));
  }
  const cowWrite = (offset: number, data: Data) => {
    if (data.length > 0) dataRequest(q, "cow_write", () => bdrvPwritev(q.host, q.data, m.allocOffset + offset, data));
  };
  if (merged) {
    // QEMU sends write_aio, then do_perform_cow_write's cow_write, for this one request.
    bdrvDebugEvent(q.img.file, "write_aio");
    cowWrite(m.cowStart.offset, Data.concat([startData, merged, endData]));
    return;
  }
  cowWrite(m.cowStart.offset, startData);
  cowWrite(m.cowEnd.offset, endData);
}

/**
 * `qcow2_alloc_cluster_abort`, for the runs of a task that failed before their L2 entries went in:
 * their new clusters are freed (QCOW2_DISCARD_NEVER); a failure to free them QEMU only prints.
 */
function abortRuns(q: Qcow2Ctx, metas: readonly L2Meta[]): void {
  for (const m of metas) {
    if (q.hasDataFile || m.keepOld) continue;
    try {
      q.img.refcounts.free(m.allocOffset, m.nbClusters * q.img.clusterSize, false);
    } catch (e) {
      if (!(e instanceof IoError)) throw e;
    }
  }
}

/** A part of a write whose `qcow2_co_pwritev_task` has started: what is left is its COW and L2 update. */
interface WriteTask {
  piece: Data;
  metas: L2Meta[];
  merged: L2Meta | undefined;
}

/**
 * `qcow2_co_pwritev_task` up to its first wait: the zeroed COW span, then the guest data unless
 * merged. A failure there aborts every run of the task.
 */
function startWriteTask(q: Qcow2Ctx, guest: number, host: number, piece: Data, metas: L2Meta[]): WriteTask {
  try {
    handleAllocSpace(q, metas);
    const merged = mergeCow(guest, piece.length, metas);
    if (!merged) dataRequest(q, "write_aio", () => bdrvPwritev(q.host, q.data, host, piece));
    return { piece, metas, merged };
  } catch (e) {
    if (e instanceof IoError) abortLater(q, e, () => abortRuns(q, metas));
    throw e;
  }
}

/**
 * The abort after a failed request: at once, or, when blkdebug failed it after a turn of the loop
 * and a job's pass is starting more tasks meanwhile, once those have run (DriverHost.deferCompletions).
 */
function abortLater(q: Qcow2Ctx, e: IoError, abort: () => void): void {
  const later = e instanceof InjectedIoError && !e.immediately ? q.host.deferCompletions : undefined;
  if (later) later.push(abort);
  else abort();
}

/**
 * The rest of `qcow2_co_pwritev_task`, `qcow2_handle_l2meta`: each run's COW, then its L2 entries;
 * a run whose COW fails is aborted with those after it.
 */
function finishWriteTask(q: Qcow2Ctx, t: WriteTask): void {
  for (const [i, m] of t.metas.entries()) {
    try {
      performCow(q, m, m === t.merged ? t.piece : undefined);
    } catch (e) {
      if (e instanceof IoError) abortLater(q, e, () => abortRuns(q, t.metas.slice(i)));
      throw e;
    }
    linkL2(q, m);
  }
}

/**
 * `qcow2_co_pwritev_part`. A request that fits one host range runs its task inline. A longer one
 * gets an AioTaskPool: each part's task runs until its writes are submitted, and its COW and L2
 * update (which frees the clusters its entries replaced, compressed ones included) run only when
 * the request's coroutine waits — at the end (aio_task_pool_wait_all), for a free worker once
 * QCOW2_MAX_WORKERS are busy, or while a later part's allocation waits for the file (then those
 * tasks finish after that part has been allocated and started). So a cluster a part frees is not
 * reused by the later parts of the same request, only by the next request.
 */
export function qcow2Pwritev(q: Qcow2Ctx, offset: number, data: Data): void {
  const pending: WriteTask[] = [];
  const finishPending = () => {
    for (const t of pending.splice(0)) finishWriteTask(q, t);
  };
  let pool = false;
  let done = 0;
  try {
    while (done < data.length) {
      const waits = q.img.metadataWaits;
      const a = allocHostOffset(q, offset + done, data.length - done);
      const waited = q.img.metadataWaits !== waits;
      const piece = data.slice(done, a.bytes);
      if (!pool && a.bytes !== data.length - done) pool = true;
      // qcow2_pre_write_overlap_check, in qcow2_co_pwritev_task: only a corrupted L2 entry points
      // guest data at metadata. In a task of its own, what the pool's other tasks do around it, and
      // dropping the clusters it allocated (qcow2_handle_l2meta), the model does not follow.
      const overlap = q.hasDataFile ? undefined : q.img.metadataOverlap(a.host, a.bytes);
      if (overlap && (pool || a.metas.length > 0)) throw new ModelIoUnsupportedError(`a guest data write over qcow2 metadata (${overlap}) in a request of several tasks or with new clusters`);
      if (overlap) q.img.corrupt(true, a.host, a.bytes, `Preventing invalid write on metadata (overlaps with ${overlap})`);
      if (!pool) {
        finishWriteTask(q, startWriteTask(q, offset + done, a.host, piece, a.metas));
      } else {
        // aio_task_pool_start_task waits for a worker; every task whose writes are done finishes.
        if (pending.length >= QCOW2_MAX_WORKERS) taskPart(true, finishPending);
        const earlier = waited ? pending.splice(0) : [];
        pending.push(taskPart(true, () => startWriteTask(q, offset + done, a.host, piece, a.metas)));
        taskPart(true, () => {
          for (const t of earlier) finishWriteTask(q, t);
        });
      }
      done += a.bytes;
    }
  } catch (e) {
    // The request stops; the tasks already running still finish (aio_task_pool_wait_all).
    if (e instanceof IoError) taskPart(pool, finishPending);
    throw e;
  }
  taskPart(pool, finishPending);
}

/** QCOW2_MAX_WORKERS: the tasks one request's AioTaskPool runs at once. */
const QCOW2_MAX_WORKERS = 8;

/**
 * `qcow2_co_pwritev_compressed_part` and `_task`: cluster by cluster; a cluster that does not
 * shrink is written as a normal one; one that is already allocated cannot be compressed (-EIO).
 */
export function qcow2PwritevCompressed(q: Qcow2Ctx, offset: number, data: Data): void {
  const img = q.img;
  if (q.hasDataFile) ioFail(Errno.ENOTSUP);
  if (img.offsetIntoCluster(offset)) ioFail(Errno.EINVAL);
  if (img.offsetIntoCluster(data.length) && offset + data.length !== q.node.size) ioFail(Errno.EINVAL);
  // Each cluster is a task of an AioTaskPool: every task compresses in the thread pool before it
  // allocates, so the first QCOW2_MAX_WORKERS are all under way before any can fail, and one that
  // fails (a cluster already allocated) does not stop the others. Later clusters start only while
  // none has failed; the request reports the first failure.
  let failure: IoError | undefined;
  for (let done = 0, task = 0; done < data.length; done += img.clusterSize, task++) {
    if (failure && task >= QCOW2_MAX_WORKERS) break;
    try {
      taskPart(data.length > img.clusterSize, () => compressedCluster(q, offset + done, data.slice(done, Math.min(img.clusterSize, data.length - done))));
    } catch (e) {
      if (!(e instanceof IoError)) throw e;
      failure ??= e;
    }
  }
  if (failure) throw failure;
}

/** `qcow2_co_pwritev_compressed_task`: one cluster, compressed, or written plainly when it does not shrink. */
function compressedCluster(q: Qcow2Ctx, guest: number, chunk: Data): void {
  const img = q.img;
  // The last cluster of an image whose size is not a multiple of it is padded with zeros.
  const buf = Data.concat([chunk, Data.zeros(img.clusterSize - chunk.length)]).toBuffer();
  const out = deflateCluster(buf, img.clusterSize - 1);
  if (!out) {
    qcow2Pwritev(q, guest, chunk);
    return;
  }
  // qcow2_alloc_compressed_cluster_offset
  const { l2Offset, table, index } = clusterTable(q, guest);
  if (table[index]! & L2E_OFFSET_MASK) ioFail(Errno.EIO);
  const host = img.refcounts.allocBytes(out.length);
  img.setL2Entry(l2Offset, index, compressedEntry(host, out.length, img.clusterBits));
  // Sent to s->data_file, which compression requires to be bs->file.
  dataRequest(q, "write_compressed", () => bdrvPwritev(q.host, q.data, host, Data.bytes(out)));
}
