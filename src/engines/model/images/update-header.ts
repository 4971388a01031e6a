/**
 * `qcow2_update_header` (block/qcow2.c): the whole header cluster is written again — the fixed
 * fields as they are, then the header extensions (backing format, external data file, the feature
 * name table for version 3 images with clusters above 4 KiB, the bitmaps extension, any extension
 * the model does not know, kept as it was), the end marker, and the backing file name right after
 * them. `qcow2_change_backing_file` rewrites it with a new backing file (a job that drops or streams
 * away a backing file writes the new name this way: bdrv_drop_intermediate, stream_prepare); the
 * persistent bitmaps code with new autoclear bits and a new bitmaps extension.
 *
 * The encryption extension is not modelled: images with it are not made by the model's qemu-img,
 * and this refuses them rather than dropping them.
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
const REWRITTEN = new Set([EXT_BACKING_FORMAT, EXT_DATA_FILE, EXT_FEATURE_TABLE, EXT_BITMAPS]);
const UNMODELLED = new Set([EXT_CRYPTO_HEADER]);

/** What a header rewrite changes; what is left out stays as the old header cluster has it. */
export interface HeaderChanges {
  /** The backing file name and format (null: none). */
  backing?: { file: string | null; format: string | null };
  /** s->autoclear_features (version 3 only). */
  autoclear?: bigint;
  /** The bitmaps extension's data (nb_bitmaps, reserved, directory size and offset), null when s->nb_bitmaps is 0. */
  bitmaps?: Buffer | null;
}

/**
 * The header cluster qcow2_update_header writes over `old`, the cluster as the image holds it.
 * Throws HeaderUpdateError when the extensions and name do not fit in the cluster (QEMU's -ENOSPC)
 * or the image has extensions the model does not rewrite.
 */
export function rewriteHeaderCluster(old: Buffer, changes: HeaderChanges): Buffer {
  const version = old.readUInt32BE(H.version);
  const clusterSize = old.length;
  const oldHeaderLength = version >= 3 ? old.readUInt32BE(H.headerLength) : V2_HEADER_LENGTH;
  const backingOffset = Number(old.readBigUInt64BE(H.backingFileOffset));
  const extensions = readExtensions(old, oldHeaderLength, backingOffset);
  if (extensions.some((e) => UNMODELLED.has(e.type))) throw new HeaderUpdateError("encryption header extensions are not modelled");
  const last = (type: number) => extensions.filter((e) => e.type === type).at(-1)?.data;
  const dataFile = last(EXT_DATA_FILE);
  const oldName = backingOffset ? old.subarray(backingOffset, backingOffset + old.readUInt32BE(H.backingFileSize)) : null;
  const backingFile = changes.backing ? (changes.backing.file === null ? null : Buffer.from(changes.backing.file, "utf8")) : oldName;
  const backingFormat = changes.backing ? (changes.backing.format === null ? null : backingFormatExtension(changes.backing.format)) : (last(EXT_BACKING_FORMAT) ?? null);
  const bitmaps = changes.bitmaps !== undefined ? changes.bitmaps : (last(EXT_BITMAPS) ?? null);

  const out = Buffer.alloc(clusterSize);
  // The fixed fields (and, for version 3, unknown header fields past them) stay as they are.
  const fixed = version >= 3 ? oldHeaderLength : V2_HEADER_LENGTH;
  old.copy(out, 0, 0, fixed);
  out.writeBigUInt64BE(0n, H.backingFileOffset);
  out.writeUInt32BE(0, H.backingFileSize);
  if (version >= 3 && changes.autoclear !== undefined) out.writeBigUInt64BE(changes.autoclear, H.autoclearFeatures);
  let off = fixed;
  const add = (type: number, data: Buffer) => {
    const need = EXT_HEADER_LENGTH + roundUp(data.length, EXT_ALIGNMENT);
    if (off + need > clusterSize) throw new HeaderUpdateError("header extensions do not fit in the header cluster");
    out.writeUInt32BE(type, off);
    out.writeUInt32BE(data.length, off + 4);
    data.copy(out, off + EXT_HEADER_LENGTH);
    off += need;
  };
  if (backingFormat !== null) add(EXT_BACKING_FORMAT, backingFormat);
  const incompatible = version >= 3 ? out.readBigUInt64BE(H.incompatibleFeatures) : 0n;
  if (incompatible & 4n && dataFile && dataFile.length > 0) add(EXT_DATA_FILE, dataFile);
  if (version >= 3 && clusterSize > 4096) add(EXT_FEATURE_TABLE, featureTable());
  if (bitmaps !== null) add(EXT_BITMAPS, bitmaps);
  for (const e of extensions) if (!REWRITTEN.has(e.type)) add(e.type, e.data);
  add(EXT_END, Buffer.alloc(0));
  if (backingFile !== null) {
    if (off + backingFile.length > clusterSize) throw new HeaderUpdateError("the backing file name does not fit in the header cluster");
    backingFile.copy(out, off);
    out.writeBigUInt64BE(BigInt(off), H.backingFileOffset);
    out.writeUInt32BE(backingFile.length, H.backingFileSize);
  }
  return out;
}

/**
 * Write `backingFile` (null: none) and `backingFormat` (null: none) into the qcow2 image at
 * `absPath` (through the engine's host files when given, like readImage). Throws HeaderUpdateError when the name does not fit in the header cluster (QEMU's
 * -ENOSPC) or the image has extensions the model does not rewrite.
 */
export function updateQcow2BackingFile(absPath: string, backingFile: string | null, backingFormat: string | null, files?: HostFiles): void {
  const held = files?.entry(absPath);
  const mine = held?.kind === "file" ? held.file : undefined;
  if (held?.kind === "directory") throw new ImageReadError(absPath, "EISDIR");
  const out = rewriteHeaderCluster(readCluster(absPath, mine), { backing: { file: backingFile, format: backingFormat } });
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
