/**
 * `qcow2_update_header` (block/qcow2.c), as `qcow2_change_backing_file` uses it: the whole header
 * cluster is written again — the fixed fields as they are, then the header extensions (backing
 * format, external data file, the feature name table for version 3 images with clusters above
 * 4 KiB, any extension the model does not know, kept as it was), the end marker, and the backing
 * file name right after them. A job that drops or streams away a backing file writes the new name
 * this way (bdrv_drop_intermediate, stream_prepare).
 *
 * Bitmap and encryption extensions are not modelled: images with them are not made by the model's
 * qemu-img, and this refuses them rather than dropping them.
 */
import { closeSync, openSync, readSync, writeSync } from "node:fs";
import { Data } from "../data/data.js";
import type { HostFiles, MemoryFile } from "../data/host-file.js";
import { ImageReadError } from "./image-errors.js";
import {
  backingFormatExtension,
  EXT_ALIGNMENT,
  EXT_BACKING_FORMAT,
  EXT_BITMAPS,
  EXT_CRYPTO_HEADER,
  EXT_DATA_FILE,
  EXT_END,
  EXT_FEATURE_TABLE,
  EXT_HEADER_LENGTH,
  featureTable,
  H,
  V2_HEADER_LENGTH,
  V3_HEADER_LENGTH,
  roundUp,
} from "./qcow2-format.js";

/** A header extension, by type. */
interface Extension {
  type: number;
  data: Buffer;
}

/** Thrown for a header the model cannot rewrite as QEMU would. */
export class HeaderUpdateError extends Error {}

function readCluster(absPath: string, mine: MemoryFile | undefined): Buffer {
  if (mine) {
    const head = mine.read(0, V3_HEADER_LENGTH).toBuffer();
    return mine.read(0, 2 ** head.readUInt32BE(H.clusterBits)).toBuffer();
  }
  let fd: number;
  try {
    fd = openSync(absPath, "r+");
  } catch (e) {
    throw new ImageReadError(absPath, (e as NodeJS.ErrnoException).code ?? "EIO", { cause: e });
  }
  try {
    const head = Buffer.alloc(V3_HEADER_LENGTH);
    readSync(fd, head, 0, head.length, 0);
    const cluster = Buffer.alloc(2 ** head.readUInt32BE(H.clusterBits));
    readSync(fd, cluster, 0, cluster.length, 0);
    return cluster;
  } finally {
    closeSync(fd);
  }
}

/** The extensions after the header, up to the end marker or the backing file name. */
function readExtensions(cluster: Buffer, headerLength: number, backingOffset: number): Extension[] {
  const end = backingOffset || cluster.length;
  const out: Extension[] = [];
  for (let off = headerLength; off + EXT_HEADER_LENGTH <= end; ) {
    const type = cluster.readUInt32BE(off);
    const length = cluster.readUInt32BE(off + 4);
    if (type === EXT_END) break;
    out.push({ type, data: Buffer.from(cluster.subarray(off + EXT_HEADER_LENGTH, off + EXT_HEADER_LENGTH + length)) });
    off += EXT_HEADER_LENGTH + roundUp(length, EXT_ALIGNMENT);
  }
  return out;
}

/** Known extension types qcow2_update_header writes itself (or drops) rather than keeping. */
const REWRITTEN = new Set([EXT_BACKING_FORMAT, EXT_DATA_FILE, EXT_FEATURE_TABLE]);
const UNMODELLED = new Set([EXT_BITMAPS, EXT_CRYPTO_HEADER]);

/**
 * Write `backingFile` (null: none) and `backingFormat` (null: none) into the qcow2 image at
 * `absPath` (through the engine's host files when given, like readImage). Throws HeaderUpdateError when the name does not fit in the header cluster (QEMU's
 * -ENOSPC) or the image has extensions the model does not rewrite.
 */
export function updateQcow2BackingFile(absPath: string, backingFile: string | null, backingFormat: string | null, files?: HostFiles): void {
  const held = files?.entry(absPath);
  const mine = held?.kind === "file" ? held.file : undefined;
  if (held?.kind === "directory") throw new ImageReadError(absPath, "EISDIR");
  const old = readCluster(absPath, mine);
  const version = old.readUInt32BE(H.version);
  const clusterSize = old.length;
  const oldHeaderLength = version >= 3 ? old.readUInt32BE(H.headerLength) : V2_HEADER_LENGTH;
  const extensions = readExtensions(old, oldHeaderLength, Number(old.readBigUInt64BE(H.backingFileOffset)));
  if (extensions.some((e) => UNMODELLED.has(e.type))) throw new HeaderUpdateError("bitmap and encryption header extensions are not modelled");
  const dataFile = extensions.filter((e) => e.type === EXT_DATA_FILE).at(-1)?.data;

  const out = Buffer.alloc(clusterSize);
  // The fixed fields (and, for version 3, unknown header fields past them) stay as they are.
  const fixed = version >= 3 ? oldHeaderLength : V2_HEADER_LENGTH;
  old.copy(out, 0, 0, fixed);
  out.writeBigUInt64BE(0n, H.backingFileOffset);
  out.writeUInt32BE(0, H.backingFileSize);
  let off = fixed;
  const add = (type: number, data: Buffer) => {
    const need = EXT_HEADER_LENGTH + roundUp(data.length, EXT_ALIGNMENT);
    if (off + need > clusterSize) throw new HeaderUpdateError("header extensions do not fit in the header cluster");
    out.writeUInt32BE(type, off);
    out.writeUInt32BE(data.length, off + 4);
    data.copy(out, off + EXT_HEADER_LENGTH);
    off += need;
  };
  if (backingFormat !== null) add(EXT_BACKING_FORMAT, backingFormatExtension(backingFormat));
  const incompatible = version >= 3 ? out.readBigUInt64BE(H.incompatibleFeatures) : 0n;
  if (incompatible & 4n && dataFile && dataFile.length > 0) add(EXT_DATA_FILE, dataFile);
  if (version >= 3 && clusterSize > 4096) add(EXT_FEATURE_TABLE, featureTable());
  for (const e of extensions) if (!REWRITTEN.has(e.type)) add(e.type, e.data);
  add(EXT_END, Buffer.alloc(0));
  if (backingFile !== null) {
    const name = Buffer.from(backingFile, "utf8");
    if (off + name.length > clusterSize) throw new HeaderUpdateError("the backing file name does not fit in the header cluster");
    name.copy(out, off);
    out.writeBigUInt64BE(BigInt(off), H.backingFileOffset);
    out.writeUInt32BE(name.length, H.backingFileSize);
  }
  if (mine) {
    mine.write(0, Data.bytes(out));
    return;
  }
  const fd = openSync(absPath, "r+");
  try {
    writeSync(fd, out, 0, out.length, 0);
  } finally {
    closeSync(fd);
  }
}
