/** `qcow2`: format driver with `file`, optional `data-file` and a `backing` (COW) child. */
import { skipFilters } from "../chain.js";
import { bdrvDefaultPerms } from "../child-perms.js";
import { Errno, IoError, ioFail, ModelIoUnsupportedError } from "../data/io-error.js";
import { Qcow2Image, Qcow2OpenReadError } from "../data/qcow2/qcow2-image.js";
import { type Qcow2Ctx, qcow2BlockStatus, qcow2Preadv } from "../data/qcow2/qcow2-read.js";
import { qcow2Pwritev, qcow2PwritevCompressed } from "../data/qcow2/qcow2-write.js";
import { qcow2Pdiscard, qcow2PwriteZeroes } from "../data/qcow2/qcow2-zero.js";
import { qcow2Truncate } from "../data/qcow2/qcow2-truncate.js";
import { BDRV_BLOCK_DATA, BDRV_BLOCK_OFFSET_VALID, BDRV_BLOCK_RECURSE, BDRV_REQ_ZERO_WRITE } from "../data/request-flags.js";
import { type BdsNode, type Child, childNamed } from "../graph.js";
import { bdrvDebugEvent, bdrvFlush, bdrvPreadv, setDirty } from "../data/block-io.js";
import type { BitmapContext } from "../data/qcow2/qcow2-bitmap-directory.js";
import { nodeLength } from "../node-length.js";
import type { HostFiles } from "../data/host-file.js";
import type { MallocHeap } from "../data/malloc-heap.js";
import { Qcow2HeaderRefusal } from "../images/image-errors.js";
import { type Qcow2Extensions, readExtensions } from "../images/qcow2-extensions.js";
import { AUTOCLEAR_KNOWN, H, INCOMPAT_CORRUPT, QCOW2_MAGIC, QCOW_CRYPT_AES, QCOW_CRYPT_LUKS, V3_HEADER_LENGTH } from "../images/qcow2-format.js";
import { fieldsProblem } from "../images/qcow2-open-checks.js";
import {
  backingFileName,
  backingNameProblem,
  firstCluster,
  type HeaderFields,
  headerFields,
  headerProblem,
  type ImageBytes,
  type Qcow2Header,
  qcow2Header,
  withImage,
} from "../images/read-image.js";
import { ModelUnsupportedError } from "../model-unsupported.js";
import { HeaderUpdateError, updateQcow2BackingFile } from "../images/update-header.js";
import { OpaqueSlot } from "../opaque.js";
import { allocatedFileSize } from "../query/named-nodes.js";
import { QemuAbort } from "../qemu-would-crash.js";
import { DESTROYED_MUTEX_LOCKED, freedContextUse } from "../aio-context/iothread-objects.js";
import { fail, QmpFailure } from "../qmp-failure.js";
import { BLK_PERM_WRITE } from "../perms.js";
import { BDRV_CHILD_DATA, BDRV_CHILD_IMAGE } from "../roles.js";
import type { DriverDef, DriverHost, OpenContext } from "./driver.js";
import { freeCacheMemory, type Qcow2OptionsContext, type Qcow2Runtime, QCOW2_MUTABLE_OPTS, qcow2UpdateOptionsPrepare } from "./qcow2-options.js";
import { readsToOpen } from "./blkdebug.js";
import {
  bitmapInfoList,
  canStoreNewBitmap,
  loadDirtyBitmaps,
  removePersistentBitmap,
  reopenBitmapsReadOnly,
  reopenBitmapsReadWrite,
  storeDirtyBitmaps,
  truncateBitmapsCheck,
} from "./qcow2-bitmaps.js";
import { qcow2JoinOptions } from "./qcow2-join-options.js";
import { windowRefusesWrite } from "./raw.js";
import { hostFileAtZero, nodesAtZero } from "./underlying.js";

/** BDRVQcow2State, the part the model keeps: the header as read at open. */
interface Qcow2State {
  header: Qcow2Header;
  /** What the runtime options set (qcow2_update_options_commit). */
  runtime: Qcow2Runtime;
  /** s->metadata_preallocation once s->metadata_preallocation_checked: whether block status recurses into the file. */
  metadataPreallocation?: boolean;
  /** The refcount blocks qcow2_detect_metadata_preallocation read from the image (not from the cache). */
  detectionReads?: number;
  /**
   * The L1/L2/refcount tables (BDRVQcow2State's), read at open; the first request reads them when
   * the open could not (a `file` the model's data path cannot read).
   */
  image?: Qcow2Image;
  /** The engine's host files, where the header is rewritten (changeBackingFile has no host). */
  files: HostFiles;
  /** The process's heap, which the caches' memory comes from and goes back to. */
  heap: MallocHeap;
  /**
   * s->data_file of an image without an external data file: the `file` edge, cleared by a reopen's
   * prepare and set again by its commit or abort (see dataFileDangles).
   */
  dataFileLink: Child | null;
  /** ChildSlots.allocations when qcow2_reopen_abort last set dataFileLink. */
  dataFileSetAt: number;
}

const slot = new OpaqueSlot<Qcow2State>("qcow2");
/** Qcow2ReopenState: what prepare checked, for commit to install. */
const reopenSlot = new OpaqueSlot<Qcow2Runtime>("qcow2-reopen");

/**
 * Where s->data_file no longer is bs->file for an image without an external data file: NULL, or a
 * freed edge. qcow2_reopen_abort sets it to bs->file as it is then; when bdrv_reopen_prepare fails
 * after the driver's prepare and after a new `file` was attached (a later "Cannot change the
 * option"), that is the new edge, which the transaction's abort frees (or NULL, when attaching the
 * new file failed after the old one was removed). QEMU 7.2 then reads guest data through it, and
 * closing the node lets go of it. What it points at: "null"; "freed" memory; memory an edge made
 * since and still attached may have taken ("reused", child-slots.ts), whose outcome the model
 * cannot tell; or undefined when it is sound.
 */
function dataFileDangles(node: BdsNode, st: Qcow2State): "freed" | "null" | "reused" | undefined {
  if (st.header.externalDataFile || st.dataFileLink === childNamed(node, "file")) return undefined;
  if (st.dataFileLink === null) return "null";
  return node.slots?.liveSince(st.dataFileSetAt) ? "reused" : "freed";
}

function qcow2CloseCrash(node: BdsNode): string | undefined {
  const st = slot.find(node);
  return st && dataFileDangles(node, st) === "freed" ? `qcow2_do_close: '${node.name}' lets go of its freed s->data_file` : undefined;
}

/**
 * At quit, `bdrv_close_all` lets go of the stale pointer too, and what lives in its memory decides
 * how QEMU ends: an edge made since is torn from its own parent, whose close then meets it freed;
 * memory something else took is no edge to unref. QEMU 7.2.22 segfaulted in most runs of such
 * scenarios, but one of them ended clean in three runs of five and another aborted once: glibc's
 * arenas follow the threads' timing. The model does not guess.
 */
function qcow2QuitUnknown(node: BdsNode): string | undefined {
  const st = slot.find(node);
  if (!st || dataFileDangles(node, st) !== "reused") return undefined;
  return `qcow2_do_close lets go of the s->data_file of '${node.name}', left stale by a failed reopen, whose freed memory an edge made since may have taken`;
}

/** `has_data_file`: s->data_file is not bs->file (a stale pointer a failed reopen left counts). */
function hasDataFile(node: BdsNode): boolean {
  const st = slot.get(node);
  return st.header.externalDataFile || dataFileDangles(node, st) !== undefined;
}

/** What the model cannot follow about a stale s->data_file (see dataFileDangles). */
function staleDataFile(node: BdsNode, what: string, dangles: "null" | "freed" | "reused"): ModelIoUnsupportedError {
  const where = dangles === "reused" ? "freed memory that an edge made since may have taken" : dangles === "null" ? "NULL" : "freed memory";
  return new ModelIoUnsupportedError(`${what} '${node.name}' after a failed reopen left its s->data_file pointing at ${where} (QEMU 7.2 takes it for an external data file)`);
}

/**
 * What a request works on (data/qcow2/): the tables, the data file and the backing node. `reads`:
 * the request looks clusters up rather than writing guest data.
 */
/** `qcow2_vm_state_offset`: l1_vm_state_index (size_to_l1 of the size) << (cluster_bits + l2_bits). */
function vmStateOffset({ clusterSize, virtualSize, extendedL2 }: Qcow2Header): number {
  const l1Span = clusterSize * (clusterSize / (extendedL2 ? 16 : 8));
  return Math.ceil(virtualSize / l1Span) * l1Span;
}

/**
 * The loaded tables, their metadata going through bs->file as it is now: a reopen, or the
 * bdrv_append of a blockdev-snapshot below the node, may have moved that edge since a request last
 * looked, and QEMU's caches are written through the edge, not to the node they were read from.
 */
function loadedImage(node: BdsNode): Qcow2Image | undefined {
  const st = slot.find(node);
  const file = childNamed(node, "file");
  if (st?.image && file) st.image.file = file.bs;
  return st?.image;
}

/** What the persistent bitmaps code works with, or undefined when the model could not read the image's tables. */
function bitmapContext(node: BdsNode): BitmapContext | undefined {
  const img = loadedImage(node);
  if (!img) return undefined;
  return { img, length: nodeLength(node), discardOther: slot.get(node).runtime.passDiscardOther };
}

/** bitmapContext, where an image the model could not read is beyond it. */
function bitmapContextOrRefuse(node: BdsNode): BitmapContext {
  const ctx = bitmapContext(node);
  if (!ctx) throw new ModelUnsupportedError("persistent dirty bitmaps of a qcow2 image whose tables the model could not read");
  return ctx;
}

function dataPath(host: DriverHost, node: BdsNode, reads = false): Qcow2Ctx {
  const st = slot.get(node);
  const file = childNamed(node, "file")!.bs;
  if (!st.image) {
    st.image = new Qcow2Image(host, file);
    st.image.configureCaches(st.runtime);
  }
  st.image.file = file;
  st.image.owner = { host, node };
  const dataFile = st.header.externalDataFile ? childNamed(node, "data-file")?.bs : undefined;
  const dangles = dataFileDangles(node, st);
  const data = dataFile ?? file;
  return {
    host,
    node,
    img: st.image,
    // Metadata goes through bs->file; guest data through s->data_file, so only a data access crashes.
    get data(): BdsNode {
      if (!dangles) return data;
      // With s->data_file not bs->file, QEMU takes the image for one with an external data file:
      // a lookup of an allocated cluster signals corruption (its host offset is not the guest
      // offset), which the model does not follow; guest data written goes through the bad pointer,
      // into another node when another edge now lives in its memory (not followed either).
      if (reads || dangles === "reused") throw staleDataFile(node, reads ? "a read of" : "a write to", dangles);
      throw new QemuAbort("SIGSEGV", `qcow2: guest data written to '${node.name}' through a ${dangles === "null" ? "NULL" : "freed"} s->data_file`);
    },
    hasDataFile: dataFile !== undefined,
    ...(dangles ? { staleDataFile: true } : {}),
    backing: childNamed(node, "backing")?.bs ?? null,
    discardOther: st.runtime.passDiscardOther,
    dataFileRaw: st.header.dataFileRaw,
    markDirty: st.runtime.useLazyRefcounts ? () => st.image!.markDirty() : undefined,
  };
}

/**
 * `qcow2_detect_metadata_preallocation`: whether the refcounts count clearly more clusters than the
 * file has allocated (an image preallocated with metadata=on). Any error says no: the caller
 * ignores it, even a corruption that took the driver away.
 */
function detectMetadataPreallocation(img: Qcow2Image, file: BdsNode): boolean {
  // bdrv_getlength and bdrv_get_allocated_file_size of a node without a driver: -ENOMEDIUM.
  if (file.ejected) return false;
  const fileLength = nodeLength(file);
  const realAllocation = allocatedFileSize(file);
  if (realAllocation === undefined) return false;
  try {
    return img.refcounts.countsMoreThanAllocated(fileLength, realAllocation);
  } catch (e) {
    if (e instanceof IoError) return false;
    throw e;
  }
}

const NULL_DRIVERS = new Set(["null-co", "null-aio"]);

/**
 * qcow2_update_header wrote the whole header cluster through `file`: the nodes it passed (filters
 * and window-less raw nodes, down to the host file's) record it in their dirty bitmaps. Returns 0,
 * the change's success.
 */
function headerWritten(st: Qcow2State, file: BdsNode): number {
  for (const n of nodesAtZero(file)) {
    setDirty(n, 0, Math.min(st.header.clusterSize, nodeLength(n)));
    n.wrHighestOffset = Math.max(n.wrHighestOffset ?? 0, st.header.clusterSize);
  }
  return 0;
}

/** Whether `head`, a file's first bytes, is the header the node opened (as far as the model keeps it). */
function holdsHeaderOf(head: Buffer, st: Qcow2State): boolean {
  const f = headerFields(head);
  if (f.magic !== QCOW2_MAGIC || 2 ** f.clusterBits !== st.header.clusterSize || f.version !== st.header.version) return false;
  return f.virtualSize === st.header.virtualSize && (st.image === undefined || f.l1TableOffset === st.image.l1Offset);
}

/** `qcow2_mark_clean` in a reopen's prepare: a failure fails the reopen (`-errno`, with `what` before it). */
function markCleanOrFail(img: Qcow2Image | undefined, what?: string): void {
  try {
    img?.markClean();
  } catch (e) {
    if (!(e instanceof IoError) || what === undefined) throw e;
    fail(`${what}: ${e.message}`);
  }
}

/** `qcow2_mark_clean` where QEMU ignores how it ends: closing the node (a read-only one cannot write its header). */
function markCleanQuietly(img: Qcow2Image | undefined): void {
  try {
    img?.markClean();
  } catch (e) {
    if (!(e instanceof IoError)) throw e;
  }
}

/** What the options are checked against (qcow2_update_options_prepare reads bs and the open flags). */
function optionsContext(header: Qcow2Header, unmap: boolean, heap: MallocHeap): Qcow2OptionsContext {
  // qcow2_do_open: bs->total_sectors = header.size / BDRV_SECTOR_SIZE.
  return { header, virtualDiskSize: Math.floor(header.virtualSize / 512) * 512, unmap, heap };
}

/**
 * `file`'s bytes as qcow2_do_open reads them: through the node (a blkdebug rule, a raw window and
 * the rest of the graph below apply), a failed read failing the open with QEMU's message for it.
 */
function openingReads(host: DriverHost, file: BdsNode): ImageBytes {
  return {
    // Reads past the node's end see zeros (bdrv_aligned_preadv); nothing here needs its length.
    size: Number.MAX_SAFE_INTEGER,
    allocated: 0,
    read(offset, length, what) {
      try {
        return bdrvPreadv(host, file, offset, length).toBuffer();
      } catch (e) {
        if (what !== undefined && e instanceof IoError) fail(`${what}: ${e.message}`);
        throw e;
      }
    },
  };
}

/** What the first part of `qcow2_do_open` found: the header, its tables and extensions, the runtime options. */
interface OpenedImage {
  fields: HeaderFields;
  header: Qcow2Header;
  image: Qcow2Image | undefined;
  runtime: Qcow2Runtime;
  extensions: Qcow2Extensions;
}

/**
 * `qcow2_do_open`'s reads and checks, in its order, up to the header extensions: the header and
 * the checks on its fields, the header fields this version does not know, the L1 table, the
 * runtime options (`parseOptions`), the refcount table, the header extensions.
 */
function openImage(host: DriverHost, node: BdsNode, file: BdsNode, parseOptions: (header: Qcow2Header) => Qcow2Runtime): OpenedImage {
  return readsToOpen(node, () => {
    const bytes = openingReads(host, file);
    const head = bytes.read(0, V3_HEADER_LENGTH, "Could not read qcow2 header");
    const fields = headerFields(head);
    if (fields.magic !== QCOW2_MAGIC) fail("Image is not in qcow2 format");
    const problem = headerProblem(fields);
    if (problem !== undefined) fail(problem);
    if (fields.headerLength > V3_HEADER_LENGTH) {
      bytes.read(V3_HEADER_LENGTH, fields.headerLength - V3_HEADER_LENGTH, "Could not read unknown qcow2 header fields");
    }
    const featureTable = () => readExtensions(bytes, fields, { strict: false, featureTable: true }).featureTable;
    const fieldProblem = fieldsProblem(head, fields, !node.readOnly, featureTable);
    if (fieldProblem !== undefined) fail(fieldProblem);
    if (fields.cryptMethod === QCOW_CRYPT_AES && host.qemuSystem) {
      fail("Use of AES-CBC encrypted qcow2 images is no longer supported in system emulators");
    }
    // The names come with the extensions, read last; the options need none of them.
    const header = qcow2Header(fields, { backingFile: "", backingFormat: "", dataFile: "" }, null);
    let runtime: Qcow2Runtime | undefined;
    const options = () => {
      runtime = parseOptions(header);
    };
    const image = loadTables(host, file, head, options);
    if (runtime === undefined) options();
    const extensions = refusing(() => readExtensions(bytes, fields, { strict: true }));
    // qcow2_read_extensions opens the LUKS block the extension points at: beyond the model.
    if (extensions.cryptoHeader) throw new ModelUnsupportedError("encrypted qcow2 images");
    if (image && extensions.bitmapDirectory) image.bitmapDirectory = extensions.bitmapDirectory;
    header.backingFormat = extensions.backingFormat;
    header.dataFile = extensions.dataFile;
    return { fields, header, image, runtime: runtime!, extensions };
  });
}

/**
 * The rest of `qcow2_do_open`, after its external data file: the backing file name, the internal
 * snapshots, the header update it may make and the persistent bitmaps it loads.
 */
function finishOpen(host: DriverHost, node: BdsNode, file: BdsNode, opened: OpenedImage): void {
  const { fields, header, extensions } = opened;
  readsToOpen(node, () => {
    const problem = backingNameProblem(fields);
    if (problem !== undefined) fail(problem);
    header.backingFile = backingFileName(openingReads(host, file), fields);
  });
  if (fields.nbSnapshots > 0) throw new ModelUnsupportedError("internal snapshots (qcow2_read_snapshots)");
  // A bitmaps extension no autoclear bit vouches for is dropped, and unknown autoclear bits are
  // cleared, where the node may write: the header is rewritten once the bitmaps are loaded, unless
  // loading them rewrote it already.
  const headerUpdate = (extensions.bitmaps === "stale" || (fields.autoclearFeatures & ~AUTOCLEAR_KNOWN) !== 0n) && !node.readOnly;
  const img = opened.image;
  if ((headerUpdate || extensions.bitmaps === "valid") && !img) {
    throw new ModelUnsupportedError("the bitmaps or header update of a qcow2 image whose tables the model could not read");
  }
  if (headerUpdate) img!.autoclear &= AUTOCLEAR_KNOWN;
  // qcow2_load_dirty_bitmaps, on a node that may write (not read-only) marking them in use.
  const headerWrittenByLoad = extensions.bitmaps === "valid" && loadDirtyBitmaps(bitmapContextOrRefuse(node), node, !node.readOnly);
  if (headerUpdate && !headerWrittenByLoad) {
    try {
      img!.updateHeader();
    } catch (e) {
      if (e instanceof IoError) fail(`Could not update qcow2 header: ${e.message}`);
      throw e;
    }
  }
  // Where guest cluster 0 is mapped is read from the host file under `file` when there is one (QEMU
  // reads nothing for it at open), else it counts as data the model does not follow.
  const path = hostFileUnder(file);
  if (path !== null) header.firstCluster = withImage(path, host.hostFiles, (onHost) => firstCluster(onHost, fields));
}

/** Run `read`, failing the open with QEMU's message where it refuses the header. */
function refusing<T>(read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof Qcow2HeaderRefusal) fail(e.message);
    throw e;
  }
}

/** The host file whose byte 0 is `file`'s, if the model can tell without reading through the graph. */
function hostFileUnder(file: BdsNode): string | null {
  try {
    return hostFileAtZero(file);
  } catch (e) {
    if (e instanceof ModelIoUnsupportedError) return null;
    throw e;
  }
}

/** `qcow2_do_open`'s tables, or undefined when the model cannot read them now (then the first request does). */
function loadTables(host: DriverHost, file: BdsNode, head: Buffer, afterL1: () => void): Qcow2Image | undefined {
  try {
    return new Qcow2Image(host, file, head, afterL1);
  } catch (e) {
    if (e instanceof Qcow2OpenReadError) fail(e.message);
    if (e instanceof ModelIoUnsupportedError) return undefined;
    throw e;
  }
}

/** `qcow2_do_open`'s external data file: the `data-file` option, else the name in the header. */
function openDataFile(ctx: OpenContext, file: Child, header: Qcow2Header): void {
  let dataFile = ctx.openChild("data-file", BDRV_CHILD_DATA, true);
  if (!header.externalDataFile) {
    if (dataFile) fail("'data-file' can only be set for images with an external data file");
    if (header.dataFileRaw) fail("data-file-raw requires a data file");
    return;
  }
  // The header's name is opened as given: QEMU resolves it against its working directory, not
  // against the image's directory as it does for backing files.
  if (!dataFile && header.dataFile !== "") dataFile = ctx.openChildFromFile("data-file", BDRV_CHILD_DATA, header.dataFile);
  if (!dataFile) fail("'data-file' is required for this image");
  // The file child keeps only metadata now.
  ctx.setChildRole(file, file.role & ~BDRV_CHILD_DATA);
}

/** Whether the node has persistent bitmaps, or its image a directory of them: what storing them looks at. */
function storesBitmaps(node: BdsNode): boolean {
  return (loadedImage(node)?.bitmapDirectory.count ?? 0) > 0 || (node.dirtyBitmaps ?? []).some((b) => b.storable);
}

/**
 * qcow2_inactivate's `qcow2_store_persistent_dirty_bitmaps(bs, true)` and the cache flushes after
 * it; whether storing worked (QEMU only reports "Lost persistent bitmaps during inactivation").
 */
function storeBitmapsAtClose(node: BdsNode): boolean {
  const ctx = bitmapContext(node);
  if (!ctx || !storesBitmaps(node)) return true;
  let stored = true;
  try {
    storeDirtyBitmaps(ctx, node, true, !node.readOnly);
  } catch (e) {
    if (!(e instanceof QmpFailure || e instanceof IoError)) throw e;
    stored = false;
  }
  // qcow2_cache_flush of the L2 cache, then of the refcount cache: each written and `file` flushed.
  try {
    ctx.img.flushCaches();
    ctx.img.flushRefcountCache();
  } catch (e) {
    if (!(e instanceof IoError)) throw e;
  }
  return stored;
}

/**
 * The blkdebug events qcow2 sends its file for guest data (data/qcow2/qcow2-read.ts and
 * qcow2-write.ts) and the VM state; those of its metadata (l2_load, l1_update, refblock_alloc…)
 * the model does not send, so rules waiting for them are refused.
 */
const QCOW2_BLKDEBUG_EVENTS = [
  "read_aio",
  "read_backing_aio",
  "read_compressed",
  "write_aio",
  "write_compressed",
  "cow_read",
  "cow_write",
  "cluster_alloc_space",
  "vmstate_load",
  "vmstate_save",
];

export const qcow2Driver: DriverDef = {
  name: "qcow2",
  blkdebugEvents: QCOW2_BLKDEBUG_EVENTS,
  protocol: false,
  isFilter: false,
  supportsBacking: true,
  canCompress: true,
  mutableOpts: QCOW2_MUTABLE_OPTS,
  joinOptions: qcow2JoinOptions,
  strongOpts: ["encrypt.key-secret"],

  /**
   * `qcow2_has_zero_init`: an image without preallocation (its first L1 entry unset) reads as
   * zeros; a preallocated one as its data file does.
   */
  hasZeroInit(node, recurse) {
    const image = slot.get(node).image;
    if (!image) throw new ModelUnsupportedError("bdrv_has_zero_init of a qcow2 node whose L1 table the model could not read");
    if (image.l1Size === 0 || image.l1[0] === 0n) return true;
    const st = slot.get(node);
    return recurse((st.header.externalDataFile ? childNamed(node, "data-file") : childNamed(node, "file"))!.bs);
  },

  /** `qcow2_probe`: the magic and a version of 2 or more. */
  probe: (buf) => (buf.readUInt32BE(H.magic) === QCOW2_MAGIC && buf.readUInt32BE(H.version) >= 2 ? 100 : 0),

  open(ctx) {
    const file = ctx.openChild("file", BDRV_CHILD_IMAGE, false)!;
    let parsed: Qcow2Runtime | undefined;
    // qcow2_update_options, on a copy: bs->options keeps what the driver absorbs.
    const parseOptions = (header: Qcow2Header) => (parsed = qcow2UpdateOptionsPrepare(optionsContext(header, ctx.node.unmap, ctx.host.heap), { ...ctx.options }));
    try {
      const opened = openImage(ctx.host, ctx.node, file.bs, parseOptions);
      const { header, image, runtime } = opened;
      image?.configureCaches(runtime);
      slot.set(ctx.node, { header, runtime, image, files: ctx.host.hostFiles, heap: ctx.host.heap, dataFileLink: file, dataFileSetAt: 0 });
      ctx.node.size = header.virtualSize;
      openDataFile(ctx, file, header);
      // A LUKS image without its CRYPTO header extension: nothing to decrypt with (the model
      // refused the crypto layer where QEMU opens it: the options, or the extension).
      if (opened.fields.cryptMethod === QCOW_CRYPT_LUKS) fail(`Missing CRYPTO header for crypt method ${QCOW_CRYPT_LUKS}`);
      finishOpen(ctx.host, ctx.node, file.bs, opened);
      ctx.node.backingFile = header.backingFile;
      ctx.node.backingFormat = header.backingFormat;
      ctx.node.autoBackingFile = header.backingFile;
    } catch (e) {
      // qcow2_do_open's fail: path destroys the caches it made.
      if (parsed) freeCacheMemory(ctx.host.heap, parsed.cacheMemory);
      throw e;
    }
    const image = slot.get(ctx.node).image;
    // qcow2_do_open repairs a dirty image it may write (qcow2_co_check_locked with fixes), which
    // ends in qcow2_mark_clean; the model's refcounts are always exact, so there is nothing to fix.
    if (image?.dirty && !ctx.node.readOnly) image.markClean();
  },

  childPerm: bdrvDefaultPerms,

  /** `qcow2_reopen_prepare` → `qcow2_update_options_prepare` takes and checks the runtime options. */
  reopenPrepare(rs, host) {
    const st = slot.get(rs.bs);
    const runtime = qcow2UpdateOptionsPrepare(optionsContext(st.header, rs.bs.unmap, st.heap), rs.options);
    reopenSlot.set(rs, runtime);
    try {
      // Lazy refcounts switched off, or the node going read-only: the image is made clean now, in
      // prepare, and stays so if the reopen fails after.
      if (st.runtime.useLazyRefcounts && !runtime.useLazyRefcounts) markCleanOrFail(loadedImage(rs.bs), "Failed to disable lazy refcounts");
      if (rs.readOnly) {
        // qcow2_reopen_bitmaps_ro, then bdrv_flush of the node: a second flush after bdrv_reopen_multiple's,
        // which writes back what storing the bitmaps changed and, bitmaps or not, announces flush_to_os
        // to the file child again (a blkdebug rule counts it).
        const ctx = bitmapContext(rs.bs);
        if (ctx && storesBitmaps(rs.bs)) reopenBitmapsReadOnly(ctx, rs.bs);
        bdrvFlush(host, rs.bs);
        markCleanOrFail(loadedImage(rs.bs));
      }
    } catch (e) {
      // qcow2_reopen_prepare's fail: path (qcow2_update_options_abort).
      freeCacheMemory(st.heap, runtime.cacheMemory);
      throw e;
    }
    // bs->file may change: s->data_file is resynced by commit or abort.
    if (!st.header.externalDataFile && !dataFileDangles(rs.bs, st)) st.dataFileLink = null;
  },

  /** `qcow2_reopen_commit` → `qcow2_update_options_commit`: the new settings and (empty) metadata caches. */
  reopenCommit(rs) {
    const st = slot.get(rs.bs);
    freeCacheMemory(st.heap, st.runtime.cacheMemory);
    st.runtime = reopenSlot.get(rs);
    loadedImage(rs.bs)?.dropCaches(st.runtime);
    if (st.dataFileLink === null) st.dataFileLink = childNamed(rs.bs, "file") ?? null;
    rs.opaque = null;
  },

  /** `qcow2_reopen_abort`: the staged caches are dropped, s->data_file is bs->file as it is now. */
  reopenAbort(rs) {
    const st = slot.get(rs.bs);
    const staged = reopenSlot.find(rs);
    if (staged) freeCacheMemory(st.heap, staged.cacheMemory);
    if (st.dataFileLink === null) {
      st.dataFileLink = childNamed(rs.bs, "file") ?? null;
      st.dataFileSetAt = rs.bs.slots?.allocations ?? 0;
    }
    rs.opaque = null;
  },

  /** `qcow2_reopen_commit_post`: a node that may write again makes its bitmaps writable (a failure only goes to QEMU's log). */
  reopenCommitPost(rs) {
    if (rs.readOnly || (loadedImage(rs.bs)?.bitmapDirectory.count ?? 0) === 0) return;
    const ctx = bitmapContext(rs.bs);
    const file = childNamed(rs.bs, "file");
    if (ctx) reopenBitmapsReadWrite(ctx, rs.bs, !!file && !file.bs.readOnly && (file.perm & BLK_PERM_WRITE) !== 0);
  },

  /** `qcow2_do_close`: a data file that is not bs->file is let go (bdrv_unref_child), a freed one too. */
  close(node) {
    const crash = qcow2CloseCrash(node);
    if (crash) throw new QemuAbort("SIGSEGV", crash);
    const st = slot.find(node);
    if (st && dataFileDangles(node, st) === "reused") throw staleDataFile(node, "closing", "reused");
    // qcow2_inactivate: the persistent bitmaps are stored, the caches written back, and a dirty
    // image marked clean unless storing failed.
    if (st && !dataFileDangles(node, st)) {
      if (storeBitmapsAtClose(node)) markCleanQuietly(loadedImage(node));
    }
    if (st) freeCacheMemory(st.heap, st.runtime.cacheMemory);
  },
  closeCrash: (node) => qcow2CloseCrash(node),
  closeUnknown: (node) => qcow2QuitUnknown(node),
  /** `cache_clean_timer_init` arms the timer whenever the interval is not 0. */
  timerArmed: (node) => (slot.find(node)?.runtime.cacheCleanInterval ?? 0) > 0,

  /**
   * `qcow2_attach_aio_context` → cache_clean_timer_init: the timer is made in the new context and
   * armed there, and timer_mod takes that context's timer list lock, which a deleted iothread's
   * context destroyed.
   */
  attachAioContext(node, ctx) {
    if (ctx.destroyed && qcow2Driver.timerArmed!(node)) throw freedContextUse(ctx, new QemuAbort("SIGABRT", DESTROYED_MUTEX_LOCKED));
  },

  /** `qcow2_get_info`. */
  getInfo(node) {
    const st = slot.get(node);
    const isDirty = st.image ? st.image.dirty : (st.header.incompatibleFeatures & 1n) !== 0n;
    return { info: { clusterSize: st.header.clusterSize, isDirty, vmStateOffset: vmStateOffset(st.header) } };
  },

  /**
   * `qcow2_get_specific_info`: ImageInfoSpecificQCow2 in QAPI member order; a version 2 image has
   * only its compat level, compression type and refcount width.
   */
  getSpecificInfo(node) {
    const st = slot.get(node);
    const h = st.header;
    const compression = h.compressionType === 1 ? "zstd" : "zlib";
    if (h.version < 3) return { type: "qcow2", data: { compat: "0.10", "compression-type": compression, "refcount-bits": h.refcountBits } };
    const data: Record<string, unknown> = {
      compat: "1.1",
      "compression-type": compression,
      // The header's bit, not the runtime option.
      "lazy-refcounts": h.lazyRefcounts,
      "refcount-bits": h.refcountBits,
    };
    // qcow2_get_bitmap_info_list: the directory as the image has it.
    if ((loadedImage(node)?.bitmapDirectory.count ?? 0) > 0) data["bitmaps"] = bitmapInfoList(bitmapContext(node)!);
    // The header's name, even when the data-file child was given explicitly.
    if (h.dataFile !== "") data["data-file"] = h.dataFile;
    // has_data_file(): a s->data_file a failed reopen left stale counts too.
    if (h.externalDataFile || dataFileDangles(node, st)) data["data-file-raw"] = h.dataFileRaw;
    // A corruption found at run time takes the driver away, so only the header's bit shows here.
    data["corrupt"] = (h.incompatibleFeatures & INCOMPAT_CORRUPT) !== 0n;
    data["extended-l2"] = h.extendedL2;
    return { type: "qcow2", data };
  },

  /**
   * The first block status reads the refcount blocks qcow2_detect_metadata_preallocation asks that
   * are not in the cache yet (an allocating write has loaded the first one).
   */
  blockStatusMetadataReads(node) {
    return slot.get(node).detectionReads ?? 0;
  },

  /** `qcow2_co_can_store_new_dirty_bitmap`. */
  canStoreNewDirtyBitmap(node, name, granularity) {
    canStoreNewBitmap(bitmapContextOrRefuse(node), node, name, granularity);
  },

  /** `qcow2_co_remove_persistent_dirty_bitmap`. */
  removePersistentDirtyBitmap(node, name) {
    removePersistentBitmap(bitmapContextOrRefuse(node), name);
  },

  /** `qcow2_co_flush_to_os` → `qcow2_write_caches`: the dirty L2 tables are written, then the refcount blocks. */
  flushToOs(_host, node) {
    loadedImage(node)?.writeCaches();
  },

  /** qcow2_do_open: version 3 images can unmap zero writes. */
  supportsZeroUnmap(node) {
    return slot.get(node).header.version >= 3;
  },

  /** `qcow2_change_backing_file` → `qcow2_update_header`: the header cluster is written again. */
  changeBackingFile(node, backingFile, backingFormat) {
    // A raw external data file alone would no longer make sense of the content with a backing file.
    if (backingFile !== null && slot.get(node).header.dataFileRaw) return -22;
    if (backingFile !== null && Buffer.byteLength(backingFile, "utf8") > 1023) return -22;
    node.autoBackingFile = backingFile ?? "";
    node.backingFile = backingFile ?? "";
    node.backingFormat = backingFormat ?? "";
    const st = slot.get(node);
    st.header = { ...st.header, backingFile: backingFile ?? "", backingFormat: backingFormat ?? "" };
    const file = childNamed(node, "file");
    const path = file ? hostFileAtZero(file.bs) : null;
    if (path === null) {
      // The header goes through `file`: a null driver below its filters takes the write and keeps nothing.
      if (file && NULL_DRIVERS.has(skipFilters(file.bs)!.driver.name)) return headerWritten(st, file.bs);
      throw new ModelIoUnsupportedError(`a backing file change of qcow2 node '${node.name}' whose file is no host file the model can place`);
    }
    // qcow2_update_header writes the whole header cluster through `file`: a raw window smaller than
    // that refuses it (the header in memory is changed already).
    if (nodesAtZero(file!.bs).some((n) => windowRefusesWrite(n, 0, st.header.clusterSize))) return -28;
    // A qcow2 node below whose first cluster is unallocated reads offset 0 from its backing file,
    // but the header write would allocate that cluster in it.
    if (nodesAtZero(file!.bs).some((n) => n.driver === qcow2Driver)) {
      throw new ModelIoUnsupportedError(`a backing file change of qcow2 node '${node.name}' whose header goes into a qcow2 node below it`);
    }
    // The model writes the header into the host file, past any blkdebug rule that would fail it.
    if (nodesAtZero(file!.bs).some((n) => n.driver.debug?.wouldFail(n, 0, st.header.clusterSize, "write"))) {
      throw new ModelIoUnsupportedError("a blkdebug error injected into a qcow2 header write (change-backing-file)");
    }
    // The model rewrites the header it finds in the file; QEMU writes the one it keeps in memory,
    // over whatever the file holds now (a reopen may have given the node another file).
    if (!holdsHeaderOf(withImage(path, st.files, (img) => img.read(0, V3_HEADER_LENGTH)), st)) {
      throw new ModelIoUnsupportedError(`a backing file change of qcow2 node '${node.name}' whose file no longer holds its header (QEMU writes the header it keeps in memory)`);
    }
    try {
      updateQcow2BackingFile(path, backingFile, backingFormat, st.files);
    } catch (e) {
      if (e instanceof HeaderUpdateError) return -28;
      throw e;
    }
    return headerWritten(st, file!.bs);
  },

  /** `qcow2_co_amend`: only encryption options, and the model's qcow2 images are never encrypted. */
  amend(_node, options) {
    return options["encrypt"] !== undefined ? "image is not encrypted, can't amend" : null;
  },

  /** `qcow2_snapshot_list`: refused with an external data file; the model opens only images without snapshots. */
  snapshotCount(node) {
    return hasDataFile(node) ? -Errno.ENOTSUP : 0;
  },

  /** `qcow2_snapshot_create`: refused with an external data file. */
  snapshotCreate(node) {
    if (hasDataFile(node)) return -Errno.ENOTSUP;
    throw new ModelUnsupportedError("qcow2 internal snapshots (qcow2_snapshot_create)");
  },

  /** `qcow2_refresh_limits`: zero writes and discards go by whole clusters. */
  ioLimits(node) {
    const clusterSize = slot.get(node).header.clusterSize;
    return { pwriteZeroesAlignment: clusterSize, pdiscardAlignment: clusterSize };
  },

  /** `qcow2_co_preadv_part`. */
  preadv(host, node, offset, bytes) {
    return qcow2Preadv(dataPath(host, node, true), offset, bytes);
  },

  /** `qcow2_co_pwritev_part`. */
  pwritev(host, node, offset, data) {
    qcow2Pwritev(dataPath(host, node), offset, data);
  },

  /**
   * `qcow2_load_vmstate`: the VM state lies past the disk, from the next L1 entry's span on, and is
   * read as guest data is (a backing file long enough holds data there).
   */
  loadVmstate(host, node, pos, bytes) {
    bdrvDebugEvent(childNamed(node, "file")!.bs, "vmstate_load");
    return qcow2Preadv(dataPath(host, node, true), vmStateOffset(slot.get(node).header) + pos, bytes);
  },

  /** `qcow2_save_vmstate`: written as guest data is, which grows the L1 table to reach it. */
  saveVmstate(host, node, pos, data) {
    bdrvDebugEvent(childNamed(node, "file")!.bs, "vmstate_save");
    qcow2Pwritev(dataPath(host, node), vmStateOffset(slot.get(node).header) + pos, data);
  },

  /** `qcow2_co_pwrite_zeroes`. */
  pwriteZeroes(host, node, offset, bytes, flags) {
    qcow2PwriteZeroes(dataPath(host, node), offset, bytes, flags);
  },

  /** `qcow2_co_pwritev_compressed_part`. */
  pwritevCompressed(host, node, offset, data) {
    // has_data_file() compares s->data_file with bs->file, so a stale pointer counts as an
    // external data file, and the write is refused before anything touches it.
    if (dataFileDangles(node, slot.get(node))) ioFail(Errno.ENOTSUP);
    qcow2PwritevCompressed(dataPath(host, node), offset, data);
  },

  /** `qcow2_co_pdiscard`. */
  pdiscard(host, node, offset, bytes) {
    qcow2Pdiscard(dataPath(host, node), offset, bytes);
  },

  /** `qcow2_co_truncate` (data/qcow2/qcow2-truncate.ts); bs->total_sectors follows the new size. */
  truncate(host, node, offset, exact, prealloc, flags) {
    const st = slot.get(node);
    if (offset % 512 === 0) {
      const ctx = bitmapContext(node);
      if (ctx) truncateBitmapsCheck(ctx, node);
    }
    qcow2Truncate(dataPath(host, node), offset, exact, prealloc, flags, st.header.dataFileRaw, st.runtime.passDiscardOther);
    node.size = Math.floor(offset / 512) * 512;
    st.header = { ...st.header, virtualSize: offset };
  },

  /** `qcow2_do_open`. */
  supportedTruncateFlags: () => BDRV_REQ_ZERO_WRITE,

  /**
   * `qcow2_co_block_status`. The first call looks for metadata preallocation, and its answer only
   * counts when it is yes (an error, a corruption that takes the driver away included, is ignored
   * there); data of a preallocated image is looked up in the file too (BDRV_BLOCK_RECURSE).
   */
  blockStatus(host, node, _wantZero, offset, bytes) {
    const q = dataPath(host, node, true);
    const st = slot.get(node);
    if (st.metadataPreallocation === undefined) {
      const loads = q.img.refcounts.loads;
      st.metadataPreallocation = detectMetadataPreallocation(q.img, q.img.file);
      st.detectionReads = q.img.refcounts.loads - loads;
    }
    const r = qcow2BlockStatus(q, offset, bytes);
    if (st.metadataPreallocation && r.status & BDRV_BLOCK_DATA && r.status & BDRV_BLOCK_OFFSET_VALID) r.status |= BDRV_BLOCK_RECURSE;
    return r;
  },

  /** Guest offset 0 reads the backing file while its cluster is unallocated; the model follows nothing else. */
  readAtZero(node) {
    if (slot.get(node).header.firstCluster !== "unallocated") return null;
    const backing = childNamed(node, "backing");
    return backing ? { node: backing.bs } : null;
  },
};
