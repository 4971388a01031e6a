/**
 * The little the drivers need from an image file: whether it is qcow2, its virtual size, the backing
 * and data files named in its header, and where guest offset 0 is mapped. Reads the header and one
 * L1 and L2 entry, synchronously (the model's core is synchronous so benchmarks can drive it
 * without promises).
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { EXT_BACKING_FORMAT, EXT_DATA_FILE, EXT_END, INCOMPAT_DATA_FILE, QCOW2_MAGIC } from "./images/qcow2-format.js";

/** What the qcow2 driver learns from the header. */
export interface Qcow2Header {
  virtualSize: number;
  /** Backing file name exactly as stored ("" when none). */
  backingFile: string;
  /** Backing format from the header extension ("" when none). */
  backingFormat: string;
  version: number;
  clusterSize: number;
  refcountBits: number;
  /** The image keeps its guest data in an external data file (incompatible feature bit 2). */
  externalDataFile: boolean;
  /** The external data file's name from the header extension ("" when none), as stored. */
  dataFile: string;
  /**
   * Where guest offset 0 reads from: an unallocated cluster reads the backing file, a zero cluster
   * zeros, and "data" is somewhere in the image file (the model does not follow it).
   */
  firstCluster: "unallocated" | "zero" | "data";
}

/** File size and, if the file is qcow2, its header. Throws the fs error (with its `code`) on failure. */
export function readImageHeader(absPath: string): { fileSize: number; allocated: number; qcow2: Qcow2Header | null } {
  const fd = openSync(absPath, "r");
  try {
    const st = fstatSync(fd);
    // Header, extensions and (usually) the backing name fit in the first 4 KiB.
    const head = Buffer.allocUnsafe(Math.min(st.size, 4096));
    readSync(fd, head, 0, head.length, 0);
    return { fileSize: st.size, allocated: st.blocks * 512, qcow2: parseQcow2(fd, head) };
  } finally {
    closeSync(fd);
  }
}

function parseQcow2(fd: number, head: Buffer): Qcow2Header | null {
  if (head.length < 72 || head.readUInt32BE(0) !== QCOW2_MAGIC) return null;
  const version = head.readUInt32BE(4);
  const backingOffset = Number(head.readBigUInt64BE(8));
  const backingSize = head.readUInt32BE(16);
  const virtualSize = Number(head.readBigUInt64BE(24));
  let backingFile = "";
  if (backingOffset > 0 && backingSize > 0) {
    const buf = Buffer.alloc(backingSize);
    readSync(fd, buf, 0, backingSize, backingOffset);
    backingFile = buf.toString("utf8");
  }
  let backingFormat = "";
  let dataFile = "";
  let off = version >= 3 && head.length >= 104 ? head.readUInt32BE(100) : 72;
  while (off + 8 <= head.length) {
    const type = head.readUInt32BE(off);
    const len = head.readUInt32BE(off + 4);
    if (type === EXT_END) break;
    if (type === EXT_BACKING_FORMAT) backingFormat = head.toString("utf8", off + 8, off + 8 + len);
    if (type === EXT_DATA_FILE) dataFile = head.toString("utf8", off + 8, off + 8 + len);
    off += 8 + ((len + 7) & ~7);
  }
  const clusterSize = 2 ** head.readUInt32BE(20);
  const refcountBits = version >= 3 && head.length >= 100 ? 2 ** head.readUInt32BE(96) : 16;
  const externalDataFile = version >= 3 && (Number(head.readBigUInt64BE(72) & 0xffffffffn) & INCOMPAT_DATA_FILE) !== 0;
  return {
    virtualSize,
    backingFile,
    backingFormat,
    version,
    clusterSize,
    refcountBits,
    externalDataFile,
    dataFile,
    firstCluster: firstCluster(fd, head, version),
  };
}

const L2_OFFSET_MASK = 0x00fffffffffffe00n;
const QCOW_OFLAG_COMPRESSED = 1n << 62n;
const QCOW_OFLAG_ZERO = 1n;

/** The L1 and L2 entries of guest cluster 0 (qcow2.txt, "Cluster mapping"). */
function firstCluster(fd: number, head: Buffer, version: number): Qcow2Header["firstCluster"] {
  const readEntry = (offset: bigint): bigint => {
    const buf = Buffer.alloc(8);
    readSync(fd, buf, 0, 8, Number(offset));
    return buf.readBigUInt64BE(0);
  };
  const l1Size = head.readUInt32BE(36);
  if (l1Size === 0) return "unallocated";
  const l2Offset = readEntry(head.readBigUInt64BE(40)) & L2_OFFSET_MASK;
  if (l2Offset === 0n) return "unallocated";
  const entry = readEntry(l2Offset);
  if (version >= 3 && !(entry & QCOW_OFLAG_COMPRESSED) && entry & QCOW_OFLAG_ZERO) return "zero";
  return entry === 0n ? "unallocated" : "data";
}
