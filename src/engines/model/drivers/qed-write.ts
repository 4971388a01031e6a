/**
 * QED's write path (block/qed.c `qed_aio_next_io` with QED_AIOCB_WRITE, block/qed-table.c): a write
 * to an allocated cluster goes in place; anything else allocates clusters at the end of the file
 * (`qed_alloc_clusters`), fills their untouched head and tail from the backing file (zeros without
 * one), writes the data, then links them into the L2 table, making a new L2 table (and writing its
 * L1 entry) where there was none. Zero writes (QED_AIOCB_ZERO) link the zero-cluster marker instead.
 *
 * Without a backing file an allocating write first marks the image QED_F_NEED_CHECK in its header;
 * the need-check timer, armed when the request completes, clears it again. It runs at the node's
 * next drain (`bdrv_qed_co_drain_begin`), which every qemu-io command's BlockBackend reaches as it
 * goes; its five seconds of virtual time are never what a scenario waits for.
 */
import { bdrvDebugEvent, bdrvFlush, bdrvPreadv, bdrvPwritev } from "../data/block-io.js";
import { metadataRequest } from "../data/metadata-request.js";
import { Data } from "../data/data.js";
import { IoError } from "../data/io-error.js";
import type { BdsNode, Child } from "../graph.js";
import { QED_F_NEED_CHECK, serializeQedHeader } from "../images/qed-format.js";
import type { DriverHost } from "./driver.js";
import { commitL2CacheEntry, entriesPerTable, findCluster, qedReadBackingFile, type QedTables, readL2Table } from "./qed-tables.js";

/** BDRVQEDState as writes see it. */
export interface QedWriteState extends QedTables {
  /** s->need_check_timer is pending. */
  needCheckTimer: boolean;
}

/** The nodes a request works on. */
export interface QedNodes {
  node: BdsNode;
  file: Child;
  backing: BdsNode | null;
}

const BDRV_SECTOR_SIZE = 512;
/** L2/L1 entries in one sector: qed_write_table writes whole sectors of a table. */
const ENTRIES_PER_SECTOR = BDRV_SECTOR_SIZE / 8;
/** The marker of a zero cluster in an L2 table. */
const QED_ZERO_CLUSTER = 1;

/**
 * `qed_write_header`: the sector holding the header is read, the known fields updated in it, and
 * written back (the backing file name after them is kept as it is). Errors are IoError.
 */
export function qedWriteHeader(host: DriverHost, n: QedNodes, t: QedWriteState): void {
  metadataRequest(() => {
    const buf = bdrvPreadv(host, n.file.bs, 0, BDRV_SECTOR_SIZE).toBuffer();
    serializeQedHeader(t.header).copy(buf, 0);
    bdrvPwritev(host, n.file.bs, 0, Data.bytes(buf), 0, n.file);
  });
}

/** `qed_write_table`: entries [index, index + count) rounded out to whole sectors. */
function writeTable(host: DriverHost, n: QedNodes, tableOffset: number, table: readonly number[], index: number, count: number, flush: boolean): void {
  const start = index - (index % ENTRIES_PER_SECTOR);
  const end = Math.ceil((index + count) / ENTRIES_PER_SECTOR) * ENTRIES_PER_SECTOR;
  const buf = Buffer.alloc((end - start) * 8);
  for (let i = start; i < end; i++) buf.writeBigUInt64LE(BigInt(table[i] ?? 0), (i - start) * 8);
  metadataRequest(() => bdrvPwritev(host, n.file.bs, tableOffset + start * 8, Data.bytes(buf), 0, n.file));
  if (flush) bdrvFlush(host, n.node);
}

/** `qed_copy_from_backing_file`: [pos, pos + len) of the backing file (zeros without one) to `offset` in the file. */
function copyFromBackingFile(host: DriverHost, n: QedNodes, pos: number, len: number, offset: number): void {
  if (len === 0) return;
  const data = n.backing ? qedReadBackingFile(host, n.file.bs, n.backing, pos, len) : Data.zeros(len);
  bdrvDebugEvent(n.file.bs, "cow_write");
  bdrvPwritev(host, n.file.bs, offset, data, 0, n.file);
}

/** `qed_aio_write_main`: the guest data, to its place in the file. */
function writeMain(host: DriverHost, n: QedNodes, offset: number, part: Data): void {
  bdrvDebugEvent(n.file.bs, "write_aio");
  bdrvPwritev(host, n.file.bs, offset, part, 0, n.file);
}

/**
 * `qed_co_request` of a write: `data` is what to write, or null for a zero write (whose range is
 * whole clusters, `bdrv_qed_co_pwrite_zeroes`). Errors are IoError; the timer is armed either way.
 */
export function qedWrite(host: DriverHost, n: QedNodes, t: QedWriteState, offset: number, bytes: number, data: Data | null): void {
  const cs = t.header.clusterSize;
  // s->allocating_acb is this request from its first allocation to its completion.
  let allocating = false;
  try {
    let pos = offset;
    while (pos < offset + bytes) {
      const f = findCluster(host, n.file.bs, t, pos, offset + bytes - pos);
      const into = pos % cs;
      const part = data ? data.slice(pos - offset, f.len) : Data.zeros(f.len);
      if (f.kind === "found") {
        // qed_aio_write_inplace
        writeMain(host, n, f.offset + into, part);
      } else {
        if (!allocating) {
          // The first allocating request cancels the timer (and starts over, finding the same clusters).
          t.needCheckTimer = false;
          allocating = true;
        }
        writeAlloc(host, n, t, pos, f.len, part, f.kind === "zero" ? "zero" : f.noL2 ? "noL2" : "noCluster", data === null);
      }
      pos += f.len;
    }
  } finally {
    // qed_aio_complete
    if (allocating && t.header.features & QED_F_NEED_CHECK) t.needCheckTimer = true;
  }
}

/** `qed_aio_write_alloc` of [pos, pos + len), all of it in one L2 table. */
function writeAlloc(host: DriverHost, n: QedNodes, t: QedWriteState, pos: number, len: number, part: Data, found: "zero" | "noL2" | "noCluster", zeroWrite: boolean): void {
  const cs = t.header.clusterSize;
  const into = pos % cs;
  const nclusters = Math.ceil((into + len) / cs);
  let cluster: number;
  if (zeroWrite) {
    // Clusters that are zero already are skipped.
    if (found === "zero") return;
    cluster = QED_ZERO_CLUSTER;
  } else {
    cluster = t.fileSize;
    t.fileSize += nclusters * cs;
  }
  // qed_should_set_need_check: with a backing file the flush before the L2 update keeps it consistent.
  if (!n.backing && !(t.header.features & QED_F_NEED_CHECK)) {
    t.header.features |= QED_F_NEED_CHECK;
    qedWriteHeader(host, n, t);
  }
  if (!zeroWrite) {
    // qed_aio_write_cow: the head, the tail, then the data.
    copyFromBackingFile(host, n, pos - into, into, cluster);
    const tailStart = pos + len;
    const tailLen = Math.ceil(tailStart / cs) * cs - tailStart;
    copyFromBackingFile(host, n, tailStart, tailLen, cluster + into + len);
    writeMain(host, n, cluster + into, part);
    if (n.backing) bdrvFlush(host, n.file.bs);
  }
  l2Update(host, n, t, pos, nclusters, cluster, found === "noL2");
}

/** `qed_aio_write_l2_update` (and `qed_aio_write_l1_update` for a new L2 table). */
function l2Update(host: DriverHost, n: QedNodes, t: QedWriteState, pos: number, nclusters: number, cluster: number, newTable: boolean): void {
  const h = t.header;
  const nelems = entriesPerTable(h);
  const l1Index = Math.floor(pos / (nelems * h.clusterSize));
  const index = Math.floor(pos / h.clusterSize) % nelems;
  let l2Offset: number;
  let table: number[];
  if (newTable) {
    // qed_new_l2_table: a zeroed table in clusters allocated after the data's.
    l2Offset = t.fileSize;
    t.fileSize += h.tableSize * h.clusterSize;
    table = new Array<number>(nelems).fill(0);
  } else {
    // The table qed_find_cluster put in the cache.
    l2Offset = t.l1[l1Index]!;
    table = readL2Table(host, n.file.bs, t, l2Offset);
  }
  // qed_update_l2_table
  for (let i = index; i < index + nclusters; i++) {
    table[i] = cluster;
    if (cluster !== QED_ZERO_CLUSTER) cluster += h.clusterSize;
  }
  if (!newTable) {
    writeTable(host, n, l2Offset, table, index, nclusters, false);
    return;
  }
  writeTable(host, n, l2Offset, table, 0, nelems, true);
  commitL2CacheEntry(t, l2Offset);
  t.l1[l1Index] = l2Offset;
  writeTable(host, n, Number(h.l1TableOffset), t.l1, l1Index, 1, false);
}

/**
 * `qed_need_check_timer_entry`, run by a drain while the timer is pending: once the data is flushed
 * the flag is cleared and the header rewritten. Errors are QEMU's to ignore.
 */
export function qedNeedCheckTimer(host: DriverHost, n: QedNodes, t: QedWriteState): void {
  t.needCheckTimer = false;
  if (!succeeds(() => bdrvFlush(host, n.file.bs))) return;
  t.header.features &= ~QED_F_NEED_CHECK;
  succeeds(() => qedWriteHeader(host, n, t));
  succeeds(() => bdrvFlush(host, n.node));
}

/** Run `fn`; false if it failed with an I/O error. */
function succeeds(fn: () => void): boolean {
  try {
    fn();
    return true;
  } catch (e) {
    if (e instanceof IoError) return false;
    throw e;
  }
}
