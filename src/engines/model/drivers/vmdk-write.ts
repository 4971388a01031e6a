/**
 * vmdk's write path (block/vmdk.c `vmdk_pwritev`): grain by grain, a flat extent's data in place, a
 * sparse extent's allocated grain in place, and an unallocated or zeroed grain appended at the
 * extent's `next_cluster_sector`: the rest of it copied from the backing file (zeros without one, or
 * over a zeroed grain; `get_whole_cluster`), the data written, then its grain table entry and that of
 * the backup table (`vmdk_L2update`). A zero write marks whole grains zeroed when the image has
 * zeroed-grain entries, after a dry run over the whole request; anything else is -ENOTSUP, and the
 * block layer writes zeros instead. The first write after open puts a new random CID in the
 * descriptor (`vmdk_write_cid`).
 */
import { bdrvFlush, bdrvPreadv, bdrvPwritev } from "../data/block-io.js";
import { Data } from "../data/data.js";
import { Errno, IoError, ioFail, ModelIoUnsupportedError } from "../data/io-error.js";
import { type BdsNode, type Child, childNamed } from "../graph.js";
import { DESC_SIZE } from "../images/vmdk-format.js";
import { nodeLength } from "../node-length.js";
import type { DriverHost } from "./driver.js";
import type { VmdkExtent, VmdkState } from "./vmdk-open.js";

const SECTOR = 512;
/** VMDK_GTE_ZEROED. */
const GTE_ZEROED = 1;
/** VMDK_EXTENT_MAX_SECTORS: no grain is allocated at or past 2^32 sectors. */
const EXTENT_MAX_SECTORS = 2 ** 32;

/** What a lookup found (`get_cluster_offset`): VMDK_OK with the offset, VMDK_UNALLOC or VMDK_ZEROED. */
type Lookup =
  | { kind: "ok"; offset: number; newAllocation: boolean; meta?: L2Place }
  | { kind: "unallocated" | "zeroed"; meta: L2Place | null };

/** VmdkMetaData: where the grain's entry is. */
interface L2Place {
  l1Index: number;
  l2Index: number;
  l2Offset: number;
}

/** The node's state and the services a write uses. */
export interface VmdkWriter {
  host: DriverHost;
  node: BdsNode;
  st: VmdkState;
  /** `vmdk_is_cid_valid`. */
  cidValid(): boolean;
  /** `find_extent`: -EIO past the last one. */
  findExtent(offset: number): VmdkExtent;
}

/**
 * `vmdk_pwritev`: `data` is what to write, or null for a zero write (`zeroed`), which with `dryRun`
 * only checks that every grain can be marked zeroed. Errors are IoError.
 */
export function vmdkPwritev(w: VmdkWriter, offset: number, bytes: number, data: Data | null, dryRun = false): void {
  let done = 0;
  while (bytes > 0) {
    const extent = w.findExtent(offset);
    if (!extent.flat && !extent.l1Table) ioFail(Errno.ENOTSUP);
    const file = childNamed(w.node, extent.child)!;
    const grain = extent.clusterSectors * SECTOR;
    const inCluster = (offset - (extent.endSector - extent.sectors) * SECTOR) % grain;
    let n = Math.min(bytes, grain - inCluster);
    if (extent.compressed) throw new ModelIoUnsupportedError("writes to a streamOptimized vmdk extent");
    const found = getClusterOffset(w, extent, file, offset, data !== null, inCluster, inCluster + n);
    if (data === null) {
      if (!(extent.hasZeroGrain && inCluster === 0 && n >= grain)) ioFail(Errno.ENOTSUP);
      n = grain;
      if (!dryRun && found.kind !== "zeroed") {
        const meta = found.kind === "ok" ? found.meta : found.meta;
        if (!meta) throw new ModelIoUnsupportedError("a zero write into a vmdk grain table that was never allocated (QEMU 7.2 updates an uninitialised entry)");
        l2Update(w, extent, file, meta, GTE_ZEROED);
      }
    } else {
      if (found.kind !== "ok") throw new ModelIoUnsupportedError("a write into a vmdk grain table that was never allocated (QEMU 7.2 writes at an uninitialised offset)");
      writeExtent(w.host, extent, file, found.offset, inCluster, data.slice(done, n));
      if (found.newAllocation) l2Update(w, extent, file, found.meta!, found.offset / SECTOR);
    }
    bytes -= n;
    offset += n;
    done += n;
    if (!w.st.cidUpdated) {
      writeCid(w);
      w.st.cidUpdated = true;
    }
  }
}

/** `get_cluster_offset`, allocating (and filling) a grain when asked; VMDK_ERROR is -EINVAL. */
function getClusterOffset(w: VmdkWriter, e: VmdkExtent, file: Child, offset: number, allocate: boolean, skipStart: number, skipEnd: number): Lookup {
  if (e.flat) return { kind: "ok", offset: e.flatStartOffset, newAllocation: false };
  const rel = offset - (e.endSector - e.sectors) * SECTOR;
  const l1Index = Math.floor(Math.floor(rel / SECTOR) / (e.l2Size * e.clusterSectors));
  if (l1Index >= e.l1Table!.length) ioFail(Errno.EINVAL);
  const l2Offset = e.l1Table![l1Index]!;
  if (!l2Offset) return { kind: "unallocated", meta: null };
  const table = readOrEinval(() => bdrvPreadv(w.host, file.bs, l2Offset * SECTOR, e.l2Size * 4).toBuffer());
  const l2Index = Math.floor(Math.floor(rel / SECTOR) / e.clusterSectors) % e.l2Size;
  const meta = { l1Index, l2Index, l2Offset };
  const sector = table.readUInt32LE(l2Index * 4);
  const zeroed = e.hasZeroGrain && sector === GTE_ZEROED;
  if (sector && !zeroed) return { kind: "ok", offset: sector * SECTOR, newAllocation: false, meta };
  if (!allocate) return { kind: zeroed ? "zeroed" : "unallocated", meta };
  if (e.nextClusterSector >= EXTENT_MAX_SECTORS) ioFail(Errno.EINVAL);
  const cluster = e.nextClusterSector;
  e.nextClusterSector += e.clusterSectors;
  getWholeCluster(w, e, file, cluster * SECTOR, rel, skipStart, skipEnd, zeroed);
  return { kind: "ok", offset: cluster * SECTOR, newAllocation: true, meta };
}

/**
 * `get_whole_cluster`: the grain's bytes outside [skipStart, skipEnd) from the backing file, or zeros
 * (no backing file, or a zeroed grain). QEMU reads the backing file at the offset within the extent.
 */
function getWholeCluster(w: VmdkWriter, e: VmdkExtent, file: Child, clusterOffset: number, rel: number, skipStart: number, skipEnd: number, zeroed: boolean): void {
  const grain = e.clusterSectors * SECTOR;
  const start = rel - (rel % grain);
  const backing = childNamed(w.node, "backing")?.bs ?? null;
  const fromBacking = backing !== null && !zeroed;
  if (backing && !w.cidValid()) ioFail(Errno.EINVAL);
  const piece = (from: number, len: number, at: number) => {
    const data = fromBacking ? readOrEinval(() => bdrvPreadv(w.host, backing, start + from, len)) : Data.zeros(len);
    readOrEinval(() => bdrvPwritev(w.host, file.bs, at, data, 0, file));
  };
  if (skipStart > 0) piece(0, skipStart, clusterOffset);
  if (skipEnd < grain) piece(skipEnd, grain - skipEnd, clusterOffset + skipEnd);
}

/** An I/O error of a lookup or a grain fill is VMDK_ERROR, which vmdk_pwritev returns as -EINVAL. */
function readOrEinval<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof IoError) ioFail(Errno.EINVAL);
    throw e;
  }
}

/** `vmdk_write_extent` of an uncompressed extent. */
function writeExtent(host: DriverHost, e: VmdkExtent, file: Child, clusterOffset: number, inCluster: number, data: Data): void {
  const at = clusterOffset + inCluster;
  try {
    bdrvPwritev(host, file.bs, at, data, 0, file);
  } finally {
    e.nextClusterSector = Math.max(e.nextClusterSector, Math.ceil((at + data.length) / SECTOR));
  }
}

/** `vmdk_L2update`: the entry, its twin in the backup table, then a flush; any failure is -EIO. */
function l2Update(w: VmdkWriter, e: VmdkExtent, file: Child, m: L2Place, value: number): void {
  const entry = Buffer.alloc(4);
  entry.writeUInt32LE(value >>> 0);
  try {
    bdrvPwritev(w.host, file.bs, m.l2Offset * SECTOR + m.l2Index * 4, Data.bytes(entry), 0, file);
    if (e.l1BackupTable) {
      bdrvPwritev(w.host, file.bs, e.l1BackupTable[m.l1Index]! * SECTOR + m.l2Index * 4, Data.bytes(entry), 0, file);
    }
    bdrvFlush(w.host, file.bs);
  } catch (err) {
    if (err instanceof IoError) ioFail(Errno.EIO);
    throw err;
  }
}

/**
 * `vmdk_write_cid`: the descriptor's text after "CID=" becomes the new CID and a newline, followed by
 * everything from "parentCID" on, and the buffer is written back whole and flushed. The buffer is
 * the 20 sectors after the header of an image with an embedded descriptor, and the whole file of a
 * descriptor file (Debian's 7.2 has "vmdk: Don't corrupt desc file in vmdk_write_cid", so the file
 * keeps its length). The CID is g_random_int() in QEMU; the model takes another eight-digit one
 * (QEMU's has eight digits 15 times in 16), so the text keeps its length. The in-memory CID stays
 * the one read at open.
 */
function writeCid(w: VmdkWriter): void {
  const file = childNamed(w.node, "file")!;
  const size = w.st.descOffset === 0 ? nodeLength(file.bs) : DESC_SIZE;
  if (size > 16 * 1024 * 1024) throw new ModelIoUnsupportedError("a CID update in a vmdk descriptor file over 16 MiB (QEMU reports it on its log)");
  const desc = bdrvPreadv(w.host, file.bs, w.st.descOffset, size).toBuffer();
  desc[size - 1] = 0;
  const end = desc.indexOf(0);
  const text = desc.subarray(0, end).toString("latin1");
  const parent = text.indexOf("parentCID");
  if (parent < 0) ioFail(Errno.EINVAL);
  const cid = ((Math.imul((w.st.cidOnDisk ?? w.st.cid) ^ 0x5bd1e995, 0x85ebca6b) >>> 0) | 0x10000000) >>> 0;
  const at = text.indexOf("CID") + 4;
  const rewritten = Buffer.from(`${text.slice(0, at)}${cid.toString(16)}\n${text.slice(parent)}`, "latin1");
  // snprintf and pstrcat stop one byte short of the buffer; past the new NUL the old bytes stay.
  const len = Math.min(rewritten.length, size - 1);
  rewritten.copy(desc, 0, 0, len);
  desc[len] = 0;
  bdrvPwritev(w.host, file.bs, w.st.descOffset, Data.bytes(desc), 0, file);
  bdrvFlush(w.host, file.bs);
  w.st.cidOnDisk = null;
}
