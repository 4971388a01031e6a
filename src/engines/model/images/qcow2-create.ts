/**
 * A fresh qcow2 image as `qemu-img create -f qcow2` 7.2 writes it: a version 3 image with 64 KiB
 * clusters laid out like QEMU's (header and extensions in cluster 0, refcount table in cluster 1, one
 * refcount block in cluster 2, the L1 table from cluster 3, the file ending where the L1 table ends).
 */
import type { ImageSpec } from "../../engine.js";
import { ImageSpecError } from "./image-errors.js";
import type { ImageLayout, LayoutChunk } from "./image-layout.js";
import {
  EXT_BACKING_FORMAT,
  EXT_DATA_FILE,
  EXT_END,
  EXT_FEATURE_TABLE,
  featureTable,
  H,
  INCOMPAT_DATA_FILE,
  MAX_BACKING_FILE_NAME,
  QCOW2_MAGIC,
  V3_HEADER_LENGTH,
  roundUp,
} from "./qcow2-format.js";

const CLUSTER_BITS = 16;
const CLUSTER = 1 << CLUSTER_BITS;
const REFCOUNT_ORDER = 4; // 16-bit refcounts
/** Guest bytes one L1 entry covers: one L2 table of CLUSTER / 8 entries, each one cluster. */
const L1_ENTRY_SPAN = CLUSTER * (CLUSTER / 8);

/** qcow2: backing file and format, data file; no other creation options yet. */
export function qcow2Image(spec: ImageSpec, size: number): ImageLayout {
  return qcow2Layout(size, spec);
}

/** The parts of a fresh qcow2 image that qemu-img writes, and its file length. */
export function qcow2Layout(size: number, spec: Pick<ImageSpec, "backingFile" | "backingFormat" | "dataFile">): ImageLayout {
  const l1Size = Math.ceil(size / L1_ENTRY_SPAN);
  const l1Clusters = Math.ceil((l1Size * 8) / CLUSTER);
  const l1Offset = l1Size > 0 ? 3 * CLUSTER : 0;

  const extensions: Array<[number, Buffer]> = [];
  if (spec.backingFormat !== undefined) extensions.push([EXT_BACKING_FORMAT, Buffer.from(spec.backingFormat, "utf8")]);
  if (spec.dataFile !== undefined) extensions.push([EXT_DATA_FILE, Buffer.from(spec.dataFile, "utf8")]);
  extensions.push([EXT_FEATURE_TABLE, featureTable()], [EXT_END, Buffer.alloc(0)]);
  const backingName = spec.backingFile === undefined ? undefined : Buffer.from(spec.backingFile, "utf8");
  if (backingName !== undefined && (backingName.length === 0 || backingName.length > MAX_BACKING_FILE_NAME)) {
    throw new ImageSpecError(`backing file name must be 1 to ${MAX_BACKING_FILE_NAME} bytes, not ${backingName.length}`);
  }
  // Cluster 0 holds the header, its extensions and the backing file name, then zeros.
  const used = extensions.reduce((n, [, data]) => n + 8 + roundUp(data.length, 8), V3_HEADER_LENGTH) + (backingName?.length ?? 0);
  const header = Buffer.alloc(Math.min(used, CLUSTER));
  header.writeUInt32BE(QCOW2_MAGIC, H.magic);
  header.writeUInt32BE(3, H.version);
  header.writeUInt32BE(CLUSTER_BITS, H.clusterBits);
  header.writeBigUInt64BE(BigInt(size), H.size);
  header.writeUInt32BE(l1Size, H.l1Size);
  header.writeBigUInt64BE(BigInt(l1Offset), H.l1TableOffset);
  header.writeBigUInt64BE(BigInt(CLUSTER), H.refcountTableOffset);
  header.writeUInt32BE(1, H.refcountTableClusters);
  header.writeUInt32BE(REFCOUNT_ORDER, H.refcountOrder);
  header.writeUInt32BE(V3_HEADER_LENGTH, H.headerLength);
  if (spec.dataFile !== undefined) header.writeBigUInt64BE(BigInt(INCOMPAT_DATA_FILE), H.incompatibleFeatures);

  let offset = V3_HEADER_LENGTH;
  for (const [type, data] of extensions) {
    header.writeUInt32BE(type, offset);
    header.writeUInt32BE(data.length, offset + 4);
    data.copy(header, offset + 8);
    offset += 8 + roundUp(data.length, 8);
  }
  if (backingName !== undefined) {
    header.writeBigUInt64BE(BigInt(offset), H.backingFileOffset);
    header.writeUInt32BE(backingName.length, H.backingFileSize);
    backingName.copy(header, offset);
  }

  const refcountTable = Buffer.alloc(8);
  refcountTable.writeBigUInt64BE(BigInt(2 * CLUSTER));
  const allocated = 3 + (l1Size > 0 ? l1Clusters : 0);
  const refcountBlock = Buffer.alloc(Math.min(allocated * 2, CLUSTER));
  for (let i = 0; i < allocated; i++) refcountBlock.writeUInt16BE(1, i * 2);

  // Whole clusters and the whole (zero) L1 table are written, not just their non-zero bytes, so the
  // file's allocation — the "actual-size" QEMU reports — is the same as qemu-img's.
  const chunks: LayoutChunk[] = [
    { offset: 0, bytes: header, zeros: CLUSTER - header.length },
    { offset: CLUSTER, bytes: refcountTable, zeros: CLUSTER - refcountTable.length },
    { offset: 2 * CLUSTER, bytes: refcountBlock, zeros: CLUSTER - refcountBlock.length },
  ];
  if (l1Size > 0) chunks.push({ offset: l1Offset, bytes: Buffer.alloc(0), zeros: l1Size * 8 });
  return { chunks, length: l1Size > 0 ? l1Offset + l1Size * 8 : 3 * CLUSTER };
}
