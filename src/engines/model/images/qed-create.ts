/**
 * A fresh QED image as `qemu-img create -f qed` 7.2 writes it (`bdrv_qed_co_create`): the file is
 * truncated to nothing, then the 64-byte header, the backing file name right after it, and a zeroed
 * L1 table in the second cluster are written; the file ends where the L1 table ends.
 */
import type { ImageSpec } from "../../engine.js";
import { ImageRefusedAfterCreateError, ImageSpecError } from "./image-errors.js";
import type { ImageLayout } from "./image-layout.js";
import {
  QED_DEFAULT_CLUSTER_SIZE,
  QED_DEFAULT_TABLE_SIZE,
  QED_F_BACKING_FILE,
  QED_F_BACKING_FORMAT_NO_PROBE,
  QED_HEADER_SIZE,
  QED_MAGIC,
  QED_MAX_CLUSTER_SIZE,
  QED_MAX_TABLE_SIZE,
  QED_MIN_CLUSTER_SIZE,
  QED_MIN_TABLE_SIZE,
  qedClusterSizeValid,
  qedImageSizeValid,
  qedMaxImageSize,
  qedTableSizeValid,
  serializeQedHeader,
} from "./qed-format.js";

/** The `-o` options the writer takes (qed_create_opts besides size and the backing file). */
export const QED_CREATE_OPTIONS = ["cluster_size", "table_size"] as const;

/**
 * A size option as qemu-img parses it (`qemu_strtosz`): bytes, decimal with an optional
 * B/k/M/G/T/P/E suffix or hexadecimal without one. A fraction ("1.5k"), and a suffix after
 * hexadecimal digits (which 7.2 takes with a deprecation warning printed at each parse), are refused
 * as limits of the model.
 */
export function parseSizeOption(format: string, key: string, value: string): bigint {
  const m = /^(\d+)([bkmgtpe]?)$/i.exec(value) ?? /^(0x[0-9a-f]+)()$/i.exec(value);
  if (!m) {
    if (/^\d*\.\d+[bkmgtpe]?$/i.test(value) || /^0x[0-9a-f]+[kmgtp]$/i.test(value)) throw new ImageSpecError(`the model cannot create a ${format} image with ${key}=${value}`);
    throw new ImageSpecError(
      `Parameter '${key}' expects a non-negative number below 2^64\n` +
        "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively.",
    );
  }
  const shift = { "": 0n, B: 0n, K: 10n, M: 20n, G: 30n, T: 40n, P: 50n, E: 60n }[m[2]!.toUpperCase()]!;
  const n = BigInt(m[1]!) << shift;
  if (n >= 1n << 64n) throw new ImageSpecError(`Value '${value}' is out of range for parameter '${key}'`);
  return n;
}

/**
 * `table_size`: a size to qemu-img's option parser (before anything is created), then an integer to
 * the QAPI visitor (`qemu_strtoi64`, base 0), after the file is; the driver keeps the low 32 bits.
 */
function tableSizeOption(value: string): number {
  parseSizeOption("qed", "table_size", value);
  const m = /^(-?)(0x[0-9a-f]+|0[0-7]*|[1-9]\d*)$/i.exec(value);
  // The QAPI visitor parses it after the file is created.
  if (!m) throw new ImageRefusedAfterCreateError("Parameter 'table-size' expects integer");
  const digits = m[2]!;
  const n = /^0x/i.test(digits) ? BigInt(digits) : digits.length > 1 && digits.startsWith("0") ? BigInt(`0o${digits.slice(1)}`) : BigInt(digits);
  return Number(BigInt.asUintN(32, m[1] ? -n : n));
}

/** qed: backing file and format, `cluster_size`, `table_size`. */
export function qedImage(spec: ImageSpec, size: number): ImageLayout {
  if (spec.dataFile !== undefined) throw new ImageSpecError("Invalid parameter 'data_file'");
  let clusterSize = QED_DEFAULT_CLUSTER_SIZE;
  let tableSize = QED_DEFAULT_TABLE_SIZE;
  for (const [key, value] of spec.createOptions ?? []) {
    // QEDHeader keeps the low 32 bits.
    if (key === "cluster_size") clusterSize = Number(BigInt.asUintN(32, parseSizeOption("qed", key, value)));
    else if (key === "table_size") tableSize = tableSizeOption(value);
    else throw new ImageSpecError(`Invalid parameter '${key}'`);
  }
  // bdrv_qed_co_create checks, once the file is there.
  if (!qedClusterSizeValid(clusterSize)) {
    throw new ImageRefusedAfterCreateError(`QED cluster size must be within range [${QED_MIN_CLUSTER_SIZE}, ${QED_MAX_CLUSTER_SIZE}] and power of 2`);
  }
  if (!qedTableSizeValid(tableSize)) {
    throw new ImageRefusedAfterCreateError(`QED table size must be within range [${QED_MIN_TABLE_SIZE}, ${QED_MAX_TABLE_SIZE}] and power of 2`);
  }
  if (!qedImageSizeValid(BigInt(size), clusterSize, tableSize)) {
    throw new ImageRefusedAfterCreateError(
      `QED image size must be a non-zero multiple of cluster size and less than ${qedMaxImageSize(clusterSize, tableSize)} bytes`,
    );
  }
  const backing = spec.backingFile !== undefined ? Buffer.from(spec.backingFile, "utf8") : Buffer.alloc(0);
  let features = 0n;
  if (spec.backingFile !== undefined) {
    features |= QED_F_BACKING_FILE;
    // Only a raw backing file is recorded (as "do not probe"); any other format is probed at open.
    if (spec.backingFormat === "raw") features |= QED_F_BACKING_FORMAT_NO_PROBE;
  }
  const header = serializeQedHeader({
    magic: QED_MAGIC,
    clusterSize,
    tableSize,
    headerSize: 1,
    features,
    compatFeatures: 0n,
    autoclearFeatures: 0n,
    l1TableOffset: BigInt(clusterSize),
    imageSize: BigInt(size),
    backingFilenameOffset: spec.backingFile !== undefined ? QED_HEADER_SIZE : 0,
    backingFilenameSize: backing.length,
  });
  const l1Size = clusterSize * tableSize;
  const chunks = [{ offset: 0, bytes: header }];
  if (backing.length > 0) chunks.push({ offset: QED_HEADER_SIZE, bytes: backing });
  chunks.push({ offset: clusterSize, bytes: Buffer.alloc(l1Size) });
  return { chunks, length: clusterSize + l1Size };
}
