/**
 * The qcow2 header extensions as QEMU 7.2's qcow2_read_extensions reads them: from the end of the
 * header up to the backing file name (else to the end of the header cluster), each checked before
 * its type is looked at, so a corrupt length is refused even on the end marker.
 */
import { IoError } from "../data/io-error.js";
import { Qcow2HeaderRefusal } from "./image-errors.js";
import {
  BACKING_FORMAT_SIZE,
  AUTOCLEAR_BITMAPS,
  EXT_ALIGNMENT,
  EXT_BACKING_FORMAT,
  EXT_BITMAPS,
  EXT_CRYPTO_HEADER,
  EXT_DATA_FILE,
  EXT_END,
  EXT_FEATURE_TABLE,
  EXT_HEADER_LENGTH,
  QCOW_CRYPT_LUKS,
  roundUp,
} from "./qcow2-format.js";
import type { HeaderFields, ImageBytes } from "./read-image.js";

/** What the extensions hold; where one repeats, the last wins, as in QEMU. */
export interface Qcow2Extensions {
  /** The backing format ("" when none). */
  backingFormat: string;
  /** The external data file's name ("" when none). */
  dataFile: string;
  /** The feature name table's bytes, when asked for and present. */
  featureTable: Buffer | null;
  /**
   * A bitmaps extension: "stale" without the autoclear bit that vouches for it (QEMU warns, and
   * drops it from the header where it may write), "valid" with it (QEMU loads the bitmaps).
   */
  bitmaps: "none" | "stale" | "valid";
  /** A valid bitmaps extension's nb_bitmaps, bitmap_directory_size and bitmap_directory_offset. */
  bitmapDirectory: { count: number; size: number; offset: number } | null;
  /** A LUKS image's CRYPTO header extension, which passed its checks. */
  cryptoHeader: boolean;
}

/** sizeof(Qcow2CryptoHeaderExtension): offset and length, 8 bytes each. */
const CRYPTO_HEADER_EXT_SIZE = 16;
/** sizeof(Qcow2BitmapHeaderExt): nb_bitmaps, reserved32, directory size, directory offset. */
const BITMAPS_EXT_SIZE = 24;
const QCOW2_MAX_BITMAPS = 65535;
const QCOW2_MAX_BITMAP_DIRECTORY_SIZE = 1024 * QCOW2_MAX_BITMAPS;

/** The end of the extension area: the backing file name, else the end of the header cluster. */
export function extensionsEnd(f: HeaderFields): number {
  return f.backingFileOffset || 2 ** f.clusterBits;
}

/**
 * Read the extensions of `image`, whose header is `f`. `strict`, as the open reads them: a refused
 * extension throws Qcow2HeaderRefusal, and a failed read fails with the open's message for it.
 * Otherwise as the open's first pass does when it only wants the feature table (errp NULL): the
 * first problem ends the reading quietly, keeping what was found before it.
 */
export function readExtensions(image: ImageBytes, f: HeaderFields, opts: { strict: boolean; featureTable?: boolean }): Qcow2Extensions {
  const found: Qcow2Extensions = { backingFormat: "", dataFile: "", featureTable: null, bitmaps: "none", bitmapDirectory: null, cryptoHeader: false };
  try {
    readInto(found, image, f, opts);
  } catch (e) {
    if (opts.strict || !(e instanceof Qcow2HeaderRefusal || e instanceof IoError)) throw e;
  }
  return found;
}

function readInto(found: Qcow2Extensions, image: ImageBytes, f: HeaderFields, opts: { strict: boolean; featureTable?: boolean }): void {
  const read = (offset: number, length: number, what: string) => (opts.strict ? image.read(offset, length, what) : image.read(offset, length));
  const clusterSize = 2 ** f.clusterBits;
  const end = extensionsEnd(f);
  let offset = f.headerLength;
  while (offset < end) {
    const head = read(offset, EXT_HEADER_LENGTH, `qcow2_read_extension: ERROR: pread fail from offset ${offset}`);
    const type = head.readUInt32BE(0);
    const length = head.readUInt32BE(4);
    offset += EXT_HEADER_LENGTH;
    if (offset > end || length > end - offset) throw new Qcow2HeaderRefusal("Header extension too large");
    switch (type) {
      case EXT_END:
        return;
      case EXT_BACKING_FORMAT:
        if (length >= BACKING_FORMAT_SIZE) {
          throw new Qcow2HeaderRefusal(`ERROR: ext_backing_format: len=${length} too large (>=${BACKING_FORMAT_SIZE})`);
        }
        found.backingFormat = cString(read(offset, length, "ERROR: ext_backing_format: Could not read format name"));
        break;
      case EXT_FEATURE_TABLE:
        if (opts.featureTable) found.featureTable = read(offset, length, "ERROR: ext_feature_table: Could not read table");
        break;
      case EXT_CRYPTO_HEADER:
        checkCryptoHeader(f, length, () => read(offset, length, "Unable to read CRYPTO header extension"), clusterSize);
        found.cryptoHeader = true;
        break;
      case EXT_BITMAPS:
        found.bitmapDirectory = checkBitmaps(f, length, () => read(offset, length, "bitmaps_ext: Could not read ext header"), clusterSize);
        found.bitmaps = found.bitmapDirectory ? "valid" : "stale";
        break;
      case EXT_DATA_FILE:
        found.dataFile = cString(read(offset, length, "ERROR: Could not read data file name"));
        break;
      default:
        // Kept, to be written back by a header update.
        read(offset, length, "ERROR: unknown extension: Could not read data");
    }
    offset += roundUp(length, EXT_ALIGNMENT);
  }
}

/** The checks on a full disk encryption header; opening the encryption itself is beyond the model, whose driver refuses once the extensions are read (drivers/qcow2.ts). */
function checkCryptoHeader(f: HeaderFields, length: number, data: () => Buffer, clusterSize: number): void {
  if (f.cryptMethod !== QCOW_CRYPT_LUKS) throw new Qcow2HeaderRefusal("CRYPTO header extension only expected with LUKS encryption method");
  if (length !== CRYPTO_HEADER_EXT_SIZE) {
    throw new Qcow2HeaderRefusal(`CRYPTO header extension size ${length}, but expected size ${CRYPTO_HEADER_EXT_SIZE}`);
  }
  const headerOffset = data().readBigUInt64BE(0);
  if (headerOffset % BigInt(clusterSize) !== 0n) {
    throw new Qcow2HeaderRefusal(`Encryption header offset '${headerOffset}' is not a multiple of cluster size '${clusterSize}'`);
  }
}

/** The bitmaps extension's directory, or null when the autoclear bit does not vouch for it. */
function checkBitmaps(f: HeaderFields, length: number, data: () => Buffer, clusterSize: number): Qcow2Extensions["bitmapDirectory"] {
  if (length !== BITMAPS_EXT_SIZE) throw new Qcow2HeaderRefusal("bitmaps_ext: Invalid extension length");
  if ((f.autoclearFeatures & AUTOCLEAR_BITMAPS) === 0n) return null;
  const ext = data();
  if (ext.readUInt32BE(4) !== 0) throw new Qcow2HeaderRefusal("bitmaps_ext: Reserved field is not zero");
  const count = ext.readUInt32BE(0);
  if (count > QCOW2_MAX_BITMAPS) {
    throw new Qcow2HeaderRefusal(`bitmaps_ext: Image has ${count} bitmaps, exceeding the QEMU supported maximum of ${QCOW2_MAX_BITMAPS}`);
  }
  if (count === 0) throw new Qcow2HeaderRefusal("found bitmaps extension with zero bitmaps");
  if (ext.readBigUInt64BE(16) % BigInt(clusterSize) !== 0n) throw new Qcow2HeaderRefusal("bitmaps_ext: invalid bitmap directory offset");
  const directorySize = ext.readBigUInt64BE(8);
  if (directorySize > BigInt(QCOW2_MAX_BITMAP_DIRECTORY_SIZE)) {
    throw new Qcow2HeaderRefusal(
      `bitmaps_ext: bitmap directory size (${directorySize}) exceeds the maximum supported size (${QCOW2_MAX_BITMAP_DIRECTORY_SIZE})`,
    );
  }
  return { count, size: Number(directorySize), offset: Number(ext.readBigUInt64BE(16)) };
}

/** QEMU keeps names as C strings: they end at the first NUL. */
export function cString(bytes: Buffer): string {
  const nul = bytes.indexOf(0);
  return (nul < 0 ? bytes : bytes.subarray(0, nul)).toString("utf8");
}
