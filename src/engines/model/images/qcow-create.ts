/**
 * A fresh qcow (version 1) image as `qemu-img create -f qcow` 7.2 writes it (`qcow_co_create`): the
 * 48-byte header (mtime 0), the backing file name after it, and the L1 table from the next 8-byte
 * boundary, written as whole zeroed sectors. With a backing file clusters are 512 bytes and L2
 * tables 32 KiB, without one 4 KiB each.
 */
import type { ImageSpec } from "../../engine.js";
import { ModelUnsupportedError } from "../model-unsupported.js";
import { ImageRefusedAfterCreateError, ImageSpecError } from "./image-errors.js";
import type { ImageLayout } from "./image-layout.js";
import { QCOW_CRYPT_NONE, QCOW_HEADER_SIZE, QCOW_MAGIC, QCOW_VERSION, serializeQcowHeader } from "./qcow-format.js";

/** qcow: a backing file (qcow stores no backing format); no -o options. */
export function qcowImage(spec: ImageSpec, size: number | bigint): ImageLayout {
  if (spec.dataFile !== undefined) throw new ImageSpecError("Invalid parameter 'data_file'");
  for (const [key] of spec.createOptions ?? []) throw new ImageSpecError(`Invalid parameter '${key}'`);
  // total_size is an int64_t: blockdev-create's uint64 size of 2^63 and up is negative there.
  const total = BigInt.asIntN(64, BigInt(size));
  // qcow_co_create checks, once the file is there.
  if (total === 0n) throw new ImageRefusedAfterCreateError("Image size is too small, cannot be zero length");
  const backing = spec.backingFile !== undefined ? Buffer.from(spec.backingFile, "utf8") : undefined;
  // Small clusters under a backing file avoid copying unmodified sectors.
  const [clusterBits, l2Bits] = backing ? [9, 12] : [12, 9];
  const headerSize = Math.ceil((QCOW_HEADER_SIZE + (backing?.length ?? 0)) / 8) * 8;
  const shift = clusterBits + l2Bits;
  // `int l1_size`: the int64_t rounded up and shifted, then cut to 32 bits.
  const l1Size = Number(BigInt.asIntN(32, (total + (1n << BigInt(shift)) - 1n) >> BigInt(shift)));
  // DIV_ROUND_UP(sizeof(uint64_t) * l1_size, …) of a negative int is a loop of 2^61 sector writes.
  if (l1Size < 0) throw new ModelUnsupportedError(`a qcow image of ${BigInt.asUintN(64, total)} bytes, whose L1 table size is negative as an int`);
  const header = serializeQcowHeader({
    magic: QCOW_MAGIC,
    version: QCOW_VERSION,
    backingFileOffset: backing ? BigInt(QCOW_HEADER_SIZE) : 0n,
    backingFileSize: backing?.length ?? 0,
    mtime: 0,
    size: BigInt.asUintN(64, total),
    clusterBits,
    l2Bits,
    cryptMethod: QCOW_CRYPT_NONE,
    l1TableOffset: BigInt(headerSize),
  });
  const chunks = [{ offset: 0, bytes: header }];
  if (backing && backing.length > 0) chunks.push({ offset: QCOW_HEADER_SIZE, bytes: backing });
  // The L1 table is written sector by sector, zeros all through.
  const l1Sectors = Math.ceil((l1Size * 8) / 512);
  chunks.push({ offset: headerSize, bytes: Buffer.alloc(l1Sectors * 512) });
  return { chunks, length: headerSize + l1Sectors * 512 };
}
