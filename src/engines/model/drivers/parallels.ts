/**
 * `parallels` (block/parallels.c): a format with a `file` child and no backing file a header could
 * name. Opening read-write marks the image in use (the header's `inuse` field) and closing clears it
 * and cuts the file where its data ends; an image still marked in use opens read-only only. There is
 * no reopen. The model reads and writes images (parallels-write.ts); the read-only format extension
 * is not modelled.
 */
import { bdrvDefaultPerms } from "../child-perms.js";
import { bdrvPreadv, bdrvPwritev } from "../data/block-io.js";
import { Data } from "../data/data.js";
import { IoError, ModelIoUnsupportedError } from "../data/io-error.js";
import { bdrvTruncate } from "../data/truncate.js";
import { type BdsNode, childNamed } from "../graph.js";
import {
  batEntryOff,
  PARALLELS_HEADER_SIZE,
  PARALLELS_INUSE_MAGIC,
  PARALLELS_MAGIC,
  PARALLELS_MAGIC2,
  PARALLELS_VERSION,
  parseParallelsHeader,
} from "../images/parallels-format.js";
import { OpaqueSlot } from "../opaque.js";
import { fail, QmpFailure } from "../qmp-failure.js";
import { BDRV_CHILD_IMAGE } from "../roles.js";
import type { DriverDef, DriverHost } from "./driver.js";
import { parallelsBlockStatus, parallelsPreadv } from "./parallels-bat.js";
import { parallelsFlushToOs, parallelsPwritev, type ParallelsWriteState } from "./parallels-write.js";

/** BDRVParallelsState: the BAT, and the header buffer parallels_update_header writes back. */
interface ParallelsState extends ParallelsWriteState {
  /** Opened read-write (BDRV_O_RDWR): close clears `inuse` and truncates the file. */
  readWrite: boolean;
}

const slot = new OpaqueSlot<ParallelsState>("parallels");

const INT32_MAX = 2 ** 31 - 1;
/** bdrv_opt_mem_align of every node the model has: the host page size. */
const OPT_MEM_ALIGN = 4096;
/** The largest header and BAT the model reads into memory. */
const MAX_HEADER_IN_MEMORY = 64 << 20;

/** `bdrv_pread`/`bdrv_pwrite_sync` of the file child: parallels_open fails without a message of its own (not modelled). */
function io<T>(what: string, body: () => T): T {
  try {
    return body();
  } catch (e) {
    if (e instanceof IoError) throw new ModelIoUnsupportedError(`a parallels ${what} that fails (${e.message})`);
    throw e;
  }
}

/** `parallels_update_header`: the first page of the header buffer (at most the buffer) back to the file. */
function updateHeader(host: DriverHost, file: BdsNode, s: ParallelsState): void {
  const size = Math.min(Math.max(OPT_MEM_ALIGN, PARALLELS_HEADER_SIZE), s.header.length);
  bdrvPwritev(host, file, 0, Data.bytes(Buffer.from(s.header.subarray(0, size))));
}

/** `parallels_open` after the file child is open. */
function parallelsDoOpen(host: DriverHost, node: BdsNode, file: BdsNode): ParallelsState {
  const ph = parseParallelsHeader(io("open", () => bdrvPreadv(host, file, 0, PARALLELS_HEADER_SIZE).toBuffer()));
  let totalSectors = ph.nbSectors;
  if (ph.version !== PARALLELS_VERSION) fail("Image not in Parallels format");
  let offMultiplier: number;
  if (ph.magic === PARALLELS_MAGIC) {
    offMultiplier = 1;
    totalSectors &= 0xffffffffn;
  } else if (ph.magic === PARALLELS_MAGIC2) {
    offMultiplier = ph.tracks;
  } else {
    fail("Image not in Parallels format");
  }
  const tracks = ph.tracks;
  if (tracks === 0) fail("Invalid image: Zero sectors per track");
  if (tracks > Math.floor(INT32_MAX / 513)) fail("Invalid image: Too big cluster");
  const batSize = ph.batEntries;
  if (batSize > Math.floor(INT32_MAX / 4)) fail("Catalog too large");
  const size = batEntryOff(batSize);
  let headerSize = Math.ceil(size / OPT_MEM_ALIGN) * OPT_MEM_ALIGN;
  // data_end counts sectors, but an image without data_off gets a byte count here, as in QEMU.
  let dataEnd = ph.dataOff !== 0 ? ph.dataOff : Math.ceil(batEntryOff(batSize) / 512) * 512;
  // Not enough room to align the BAT's end: QEMU compares sectors with bytes here.
  if (dataEnd < headerSize) headerSize = size;
  if (headerSize > MAX_HEADER_IN_MEMORY) throw new ModelIoUnsupportedError(`a parallels BAT of ${headerSize} bytes`);
  const header = io("open", () => bdrvPreadv(host, file, 0, headerSize).toBuffer());
  const bat = Array.from({ length: Math.min(batSize, Math.floor((headerSize - PARALLELS_HEADER_SIZE) / 4)) }, (_, i) =>
    header.readUInt32LE(PARALLELS_HEADER_SIZE + 4 * i),
  );
  for (const entry of bat) {
    const off = entry * offMultiplier;
    if (off >= dataEnd) dataEnd = off + tracks;
  }
  const readWrite = !node.readOnly;
  // An image not closed cleanly must be checked first: read-only only.
  if (ph.inuse === PARALLELS_INUSE_MAGIC && readWrite) fail("parallels: Image was not closed correctly; cannot be opened read/write");
  // Read-write, QEMU ignores a format extension (with a warning on stderr); read-only, it reads it.
  if (ph.extOff !== 0n && !readWrite) throw new ModelIoUnsupportedError("the format extension of a parallels image");
  node.size = Number(totalSectors) * 512;
  const s: ParallelsState = { tracks, offMultiplier, bat, header, dataEnd, readWrite, batSize, dirty: new Set() };
  if (readWrite) {
    header.writeUInt32LE(PARALLELS_INUSE_MAGIC, 44);
    io("header write", () => updateHeader(host, file, s));
  }
  return s;
}

export const parallelsDriver: DriverDef = {
  name: "parallels",
  protocol: false,
  isFilter: false,
  supportsBacking: true,
  /** bdrv_has_zero_init_1. */
  hasZeroInit: () => true,
  mutableOpts: [],

  /** `parallels_probe`: either magic and version 2. */
  probe(buf) {
    if (buf.length < PARALLELS_HEADER_SIZE) return 0;
    const magic = buf.subarray(0, 16).toString("latin1");
    return (magic === PARALLELS_MAGIC || magic === PARALLELS_MAGIC2) && buf.readUInt32LE(16) === PARALLELS_VERSION ? 100 : 0;
  },

  open(ctx) {
    const file = ctx.openChild("file", BDRV_CHILD_IMAGE, false)!;
    slot.set(ctx.node, parallelsDoOpen(ctx.host, ctx.node, file.bs));
  },

  /**
   * `parallels_close`: a read-write image is marked clean and its file cut where the data ends;
   * errors are ignored.
   */
  close(node, host) {
    const s = slot.get(node);
    const file = childNamed(node, "file");
    if (!s.readWrite || !file) return;
    s.header.writeUInt32LE(0, 44);
    for (const step of [() => updateHeader(host, file.bs, s), () => bdrvTruncate(host, file.bs, s.dataEnd * 512, true, "off", 0)]) {
      try {
        step();
      } catch (e) {
        if (!(e instanceof IoError || e instanceof QmpFailure)) throw e;
      }
    }
  },

  childPerm: bdrvDefaultPerms,

  /** A driver with `.bdrv_co_readv`: 512-byte requests. */
  ioLimits: () => ({ requestAlignment: 512 }),

  /** `parallels_co_readv`. */
  preadv(host, node, offset, bytes) {
    return parallelsPreadv(host, childNamed(node, "file")!.bs, childNamed(node, "backing")?.bs ?? null, slot.get(node), offset, bytes);
  },

  /** `parallels_co_writev`. */
  pwritev(host, node, offset, data) {
    parallelsPwritev(host, childNamed(node, "file")!, childNamed(node, "backing")?.bs ?? null, slot.get(node), offset, data);
  },

  /** `parallels_co_flush_to_os`: the BAT blocks writes changed. */
  flushToOs(host, node) {
    const file = childNamed(node, "file");
    if (file) parallelsFlushToOs(host, file, slot.get(node));
  },

  /** `parallels_co_block_status`. */
  blockStatus(_host, node, _wantZero, offset, bytes) {
    return parallelsBlockStatus(childNamed(node, "file")!.bs, slot.get(node), offset, bytes);
  },
};
