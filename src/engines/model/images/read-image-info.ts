/**
 * What an image file is, read from its bytes the way QEMU 7.2's qcow2 driver reads its header
 * (block/qcow2.c qcow2_do_open): qcow2 v2 or v3 by the magic, otherwise raw. Synchronous, because the
 * model's core is.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { ImageFormatError, ImageReadError } from "./image-errors.js";
import {
  EXT_BACKING_FORMAT,
  EXT_END,
  H,
  MAX_BACKING_FILE_NAME,
  MAX_CLUSTER_BITS,
  MIN_CLUSTER_BITS,
  QCOW2_MAGIC,
  V2_HEADER_LENGTH,
} from "./qcow2-format.js";

/** An image as `qemu-img info` would summarise it. */
export interface ImageInfo {
  format: "qcow2" | "raw";
  /** Guest-visible size in bytes (for raw: the file size). */
  virtualSize: number;
  /** Size of the file in bytes. */
  size: number;
  /** Backing file name exactly as stored in the header (qcow2 only). */
  backingFile?: string;
  /** Backing format from the header extension (qcow2 only, when present). */
  backingFormat?: string;
  /** Cluster size in bytes (qcow2 only). */
  clusterSize?: number;
}

/** Read `absPath`'s format, sizes and backing file. Throws ImageReadError or ImageFormatError. */
export function readImageInfo(absPath: string): ImageInfo {
  let fd: number;
  try {
    fd = openSync(absPath, "r");
  } catch (e) {
    throw new ImageReadError(absPath, (e as NodeJS.ErrnoException).code ?? "EIO", { cause: e });
  }
  try {
    const size = fstatSync(fd).size;
    const read = (offset: number, length: number): Buffer => {
      // Reads past the end of the file return zeros, as QEMU's block layer pads them.
      const buf = Buffer.alloc(length);
      if (offset < size) readSync(fd, buf, 0, Math.min(length, size - offset), offset);
      return buf;
    };
    const head = read(0, V2_HEADER_LENGTH);
    if (size < 4 || head.readUInt32BE(H.magic) !== QCOW2_MAGIC) return { format: "raw", virtualSize: size, size };
    return { ...readQcow2(absPath, read), size };
  } catch (e) {
    if (e instanceof ImageFormatError) throw e;
    throw new ImageReadError(absPath, (e as NodeJS.ErrnoException).code ?? "EIO", { cause: e });
  } finally {
    closeSync(fd);
  }
}

function readQcow2(absPath: string, read: (offset: number, length: number) => Buffer): Omit<ImageInfo, "size"> {
  const fail = (message: string) => new ImageFormatError(absPath, message);
  const h = read(0, 112);
  const version = h.readUInt32BE(H.version);
  if (version < 2 || version > 3) throw fail(`Unsupported qcow2 version ${version}`);
  const clusterBits = h.readUInt32BE(H.clusterBits);
  if (clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) throw fail(`Unsupported cluster size: 2^${clusterBits}`);
  const clusterSize = 2 ** clusterBits;
  const headerLength = version === 2 ? V2_HEADER_LENGTH : h.readUInt32BE(H.headerLength);
  if (version === 3 && headerLength < 104) throw fail("qcow2 header too short");
  if (headerLength > clusterSize) throw fail("qcow2 header exceeds cluster size");
  const backingOffset = Number(h.readBigUInt64BE(H.backingFileOffset));
  if (backingOffset > clusterSize) throw fail("Invalid backing file offset");

  const info: Omit<ImageInfo, "size"> = { format: "qcow2", virtualSize: Number(h.readBigUInt64BE(H.size)), clusterSize };
  const format = backingFormatExtension(read, headerLength, backingOffset || clusterSize);
  if (backingOffset) {
    const length = h.readUInt32BE(H.backingFileSize);
    if (length > Math.min(MAX_BACKING_FILE_NAME, clusterSize - backingOffset)) throw fail("Backing file name too long");
    info.backingFile = read(backingOffset, length).toString("utf8");
    if (format !== undefined) info.backingFormat = format;
  }
  return info;
}

/** Walk the header extensions (which end at the backing file name or the first cluster's end). */
function backingFormatExtension(read: (o: number, l: number) => Buffer, start: number, end: number): string | undefined {
  let offset = start;
  while (offset + 8 <= end) {
    const ext = read(offset, 8);
    const type = ext.readUInt32BE(0);
    const length = ext.readUInt32BE(4);
    if (type === EXT_END) return undefined;
    if (type === EXT_BACKING_FORMAT) return read(offset + 8, length).toString("utf8");
    offset += 8 + Math.ceil(length / 8) * 8;
  }
  return undefined;
}
