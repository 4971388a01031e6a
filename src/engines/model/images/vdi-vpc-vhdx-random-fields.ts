/**
 * The bytes `qemu-img create` fills at random or from the clock in vdi, vpc and vhdx images (UUIDs,
 * GUIDs, timestamps, and the checksums computed over them), found by each format's magic. The
 * model's writers leave them zero; comparisons with QEMU's files mask exactly these.
 */
import { luksRandomFields } from "./luks-random-fields.js";
import { VDI_RANDOM_FIELDS } from "./vdi-create.js";
import { V, VDI_SIGNATURE } from "./vdi-format.js";
import { VPC_FOOTER_RANDOM_FIELDS } from "./vpc-create.js";
import { VHD_FOOTER_SIZE } from "./vpc-format.js";
import { HDR, METADATA_GUID, PAGE83_GUID, VHDX_HEADER1_OFFSET, VHDX_HEADER2_OFFSET, VHDX_REGION_TABLE_OFFSET } from "./vhdx-format.js";

/** A field at a fixed offset of the file. */
export interface RandomField {
  name: string;
  offset: number;
  length: number;
}

/** The random fields of the image in `bytes`, by its format's magic; [] for other formats. */
export function randomFields(bytes: Buffer): readonly RandomField[] {
  if (bytes.length >= 512 && bytes.readUInt32LE(V.signature) === VDI_SIGNATURE) return VDI_RANDOM_FIELDS;
  const luks = luksRandomFields(bytes);
  if (luks.length > 0) return luks;
  if (bytes.toString("latin1", 0, 8) === "vhdxfile") return vhdxRandomFields(bytes);
  // A VHD footer: at the start and the end of a dynamic image, at the end of a fixed one.
  const footers = [0, bytes.length - VHD_FOOTER_SIZE].filter((at, i, all) => at >= 0 && all.indexOf(at) === i && bytes.toString("latin1", at, at + 8) === "conectix");
  return footers.flatMap((at) => VPC_FOOTER_RANDOM_FIELDS.map((f) => ({ ...f, offset: at + f.offset })));
}

/** `bytes` with its random fields zeroed (in place; returned for chaining). */
export function maskRandomFields(bytes: Buffer): Buffer {
  for (const f of randomFields(bytes)) bytes.fill(0, f.offset, Math.min(bytes.length, f.offset + f.length));
  return bytes;
}

/**
 * vhdx: each header's checksum, sequence number and write GUIDs, and the page 83 GUID wherever the
 * region table and the metadata table place it.
 */
function vhdxRandomFields(bytes: Buffer): RandomField[] {
  const fields: RandomField[] = [];
  for (const at of [VHDX_HEADER1_OFFSET, VHDX_HEADER2_OFFSET]) {
    fields.push({ name: "header checksum", offset: at + HDR.checksum, length: 4 });
    fields.push({ name: "sequence_number", offset: at + HDR.sequenceNumber, length: 8 });
    fields.push({ name: "file_write_guid", offset: at + HDR.fileWriteGuid, length: 16 });
    fields.push({ name: "data_write_guid", offset: at + HDR.dataWriteGuid, length: 16 });
  }
  const rt = VHDX_REGION_TABLE_OFFSET;
  if (bytes.length < rt + 16) return fields;
  const count = Math.min(bytes.readUInt32LE(rt + 8), 2047);
  for (let i = 0; i < count && rt + 16 + i * 32 + 32 <= bytes.length; i++) {
    const e = rt + 16 + i * 32;
    if (!bytes.subarray(e, e + 16).equals(METADATA_GUID)) continue;
    const md = Number(bytes.readBigUInt64LE(e + 16));
    if (md + 32 > bytes.length) break;
    const entries = bytes.readUInt16LE(md + 10);
    for (let k = 0; k < entries && md + 32 + k * 32 + 32 <= bytes.length; k++) {
      const me = md + 32 + k * 32;
      if (bytes.subarray(me, me + 16).equals(PAGE83_GUID)) fields.push({ name: "page_83_data", offset: md + bytes.readUInt32LE(me + 16), length: 16 });
    }
  }
  return fields;
}
