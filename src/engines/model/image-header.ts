/**
 * The little the drivers need from an image file: whether it is qcow2, its virtual size and the
 * backing file named in its header. Reads only the header, synchronously (the model's core is
 * synchronous so benchmarks can drive it without promises).
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";

const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"
const EXT_BACKING_FORMAT = 0xe2792aca;
const EXT_END = 0;

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
  let off = version >= 3 && head.length >= 104 ? head.readUInt32BE(100) : 72;
  while (off + 8 <= head.length) {
    const type = head.readUInt32BE(off);
    const len = head.readUInt32BE(off + 4);
    if (type === EXT_END) break;
    if (type === EXT_BACKING_FORMAT) backingFormat = head.toString("utf8", off + 8, off + 8 + len);
    off += 8 + ((len + 7) & ~7);
  }
  const clusterSize = 2 ** head.readUInt32BE(20);
  const refcountBits = version >= 3 && head.length >= 100 ? 2 ** head.readUInt32BE(96) : 16;
  return { virtualSize, backingFile, backingFormat, version, clusterSize, refcountBits };
}
