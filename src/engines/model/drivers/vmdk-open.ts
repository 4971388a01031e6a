/**
 * `vmdk_open` and what it calls (block/vmdk.c, QEMU 7.2): the sparse headers, the descriptor and
 * its extent lines, each extent a child opened from the name the descriptor gives. What the driver
 * keeps is a VmdkState; the data path is not modelled, so grain tables are read only as far as
 * opening reads them (their read errors are open errors).
 */
import { IoError } from "../data/io-error.js";
import { bdrvPreadv } from "../data/block-io.js";
import type { Child } from "../graph.js";
import { bdrvDirname } from "../backing-filename.js";
import { nodeLength } from "../node-length.js";
import { optBool } from "../options.js";
import { fail, QmpFailure } from "../qmp-failure.js";
import { FilenameCache } from "../query/filename.js";
import { BDRV_CHILD_DATA, BDRV_CHILD_METADATA } from "../roles.js";
import {
  cString,
  DESC_SIZE,
  nextLine,
  parentFileNameHint,
  parseDescription,
  parseSeSparseConstHeader,
  parseVmdk3Header,
  parseVmdk4Header,
  readCid,
  scanExtentLine,
  seSparseConstProblem,
  seSparseVolatileProblem,
  VMDK3_HEADER_SIZE,
  VMDK3_MAGIC,
  VMDK4_COMPRESSION_DEFLATE,
  VMDK4_FLAG_RGD,
  VMDK4_FLAG_ZERO_GRAIN,
  VMDK4_GD_AT_END,
  VMDK4_HEADER_SIZE,
  VMDK4_MAGIC,
} from "../images/vmdk-format.js";
import type { OpenContext } from "./driver.js";

/** One VmdkExtent, the part queries show; `child` names the edge ("file" or "extents.N"). */
export interface VmdkExtent {
  child: string;
  flat: boolean;
  sectors: number;
  /** cluster_sectors: the grain, or the whole extent when flat. */
  clusterSectors: number;
  compressed: boolean;
  /** extent->type: the descriptor's word, null for the extent of a monolithic sparse image. */
  type: string | null;
  /** extent->end_sector: where the extent ends in the disk, in sectors. */
  endSector: number;
  /** extent->flat_start_offset: where a flat extent's data starts in its file. */
  flatStartOffset: number;
  /** The grain directory (extent->l1_table) as read at open; none for flat and seSparse extents. */
  l1Table?: number[];
  /** extent->l2_size: entries per grain table. */
  l2Size: number;
  hasZeroGrain: boolean;
  /** The backup grain directory (extent->l1_backup_table), when the header has one. */
  l1BackupTable?: number[];
  /** extent->next_cluster_sector: where the next grain is allocated in the extent's file. */
  nextClusterSector: number;
}

/** BDRVVmdkState, the part the model keeps. */
export interface VmdkState {
  createType: string;
  cid: number;
  parentCid: number;
  extents: VmdkExtent[];
  /** s->desc_offset: where the descriptor is in `file`. */
  descOffset: number;
  /** s->cid_updated: the first write since open has put a new CID in the descriptor. */
  cidUpdated: boolean;
  /** s->cid_checked: the backing file's CID was found to be the parent CID once. */
  cidChecked: boolean;
  /** The CID the descriptor on disk holds now, null once a write has put a random one there. */
  cidOnDisk: number | null;
}

/** The createTypes a descriptor file may have. */
const DESCRIPTOR_TYPES = ["monolithicFlat", "vmfs", "vmfsSparse", "seSparse", "twoGbMaxExtentSparse", "twoGbMaxExtentFlat"];
const EXTENT_TYPES = ["FLAT", "SPARSE", "VMFS", "VMFSSPARSE", "SESPARSE"];
const SECTOR = 512;

/** A read through the child's data path; an IoError becomes `message: strerror`. */
function pread(ctx: OpenContext, child: Child, offset: number, bytes: number, message: () => string): Buffer {
  try {
    return bdrvPreadv(ctx.host, child.bs, offset, bytes).toBuffer();
  } catch (e) {
    if (e instanceof IoError) fail(`${message()}: ${e.message}`);
    throw e;
  }
}

/** bs->filename of a child's node after bdrv_refresh_filename. */
function filenameOf(child: Child): string {
  return new FilenameCache().filename(child.bs);
}

class VmdkOpener {
  readonly state: VmdkState = { createType: "", cid: 0, parentCid: 0, extents: [], descOffset: 0, cidUpdated: false, cidChecked: false, cidOnDisk: 0 };

  constructor(
    private readonly ctx: OpenContext,
    private readonly file: Child,
  ) {}

  /** `vmdk_read_desc`: up to 1 MiB - 1 bytes from `offset`, after a length check. */
  readDesc(child: Child, offset: number): Buffer {
    const size = nodeLength(child.bs);
    if (size < 4) fail("File is too small, not a valid image");
    return pread(this.ctx, child, offset, Math.min(size, (1 << 20) - 1), () => "Could not read from file");
  }

  /** `vmdk_add_extent`. */
  addExtent(child: Child, e: Omit<VmdkExtent, "child" | "endSector" | "flatStartOffset" | "l2Size" | "hasZeroGrain" | "nextClusterSector">, l1Size: number, paramClusterSectors: number, l2Size = 0): VmdkExtent {
    if (paramClusterSectors > 0x200000) fail("Invalid granularity, image may be corrupt");
    if (l1Size > 32 * 1024 * 1024) fail("L1 size too big");
    const previous = this.state.extents[this.state.extents.length - 1];
    // ROUND_UP(bdrv_nb_sectors(file), cluster_sectors); a flat extent's 0 makes it 0.
    const nbSectors = Math.ceil(nodeLength(child.bs) / SECTOR);
    const nextClusterSector = paramClusterSectors > 0 ? Math.ceil(nbSectors / paramClusterSectors) * paramClusterSectors : 0;
    const extent: VmdkExtent = { child: child.name, ...e, endSector: (previous?.endSector ?? 0) + e.sectors, flatStartOffset: 0, l2Size, hasZeroGrain: false, nextClusterSector };
    this.state.extents.push(extent);
    return extent;
  }

  /** `vmdk_init_tables`: the L1 table (and its backup) are read; the L1 table is kept, in 32-bit entries. */
  initTables(child: Child, l1Offset: number, l1BackupOffset: number, l1Bytes: number, entrySize = 4): void {
    const l1 = pread(this.ctx, child, l1Offset, l1Bytes, () => `Could not read l1 table from extent '${filenameOf(child)}'`);
    const backup = l1BackupOffset ? pread(this.ctx, child, l1BackupOffset, l1Bytes, () => `Could not read l1 backup table from extent '${filenameOf(child)}'`) : null;
    const extent = this.state.extents[this.state.extents.length - 1]!;
    const entries = (b: Buffer) => Array.from({ length: b.length / 4 }, (_, i) => b.readUInt32LE(i * 4));
    if (entrySize === 4) extent.l1Table = entries(l1);
    if (entrySize === 4 && backup) extent.l1BackupTable = entries(backup);
  }

  /** `vmdk_open_sparse`. */
  openSparse(child: Child, buf: Buffer): void {
    const magic = buf.readUInt32BE(0);
    if (magic === VMDK3_MAGIC) return this.openVmfsSparse(child);
    if (magic === VMDK4_MAGIC) return this.openVmdk4(child);
    fail("Image not in VMDK format");
  }

  /** `vmdk_open_vmfs_sparse`. */
  openVmfsSparse(child: Child): void {
    const h = parseVmdk3Header(pread(this.ctx, child, 4, VMDK3_HEADER_SIZE, () => `Could not read header from file '${filenameOf(child)}'`));
    const cluster = h.granularity;
    this.addExtent(child, { flat: false, sectors: h.diskSectors, clusterSectors: cluster, compressed: false, type: null }, h.l1dirSize, cluster, 4096);
    this.initTables(child, h.l1dirOffset * SECTOR, 0, h.l1dirSize * 4);
  }

  /** `vmdk_open_se_sparse`: strict checks, the format not being documented; never writable. */
  openSeSparse(child: Child): void {
    const node = this.ctx.node;
    // bdrv_apply_auto_read_only: a read-write open fails unless auto-read-only lets it fall back.
    if (!node.readOnly) {
      if (!optBool(this.ctx.options["auto-read-only"])) fail("No write support for seSparse images available");
      node.readOnly = true;
    }
    const c = parseSeSparseConstHeader(pread(this.ctx, child, 0, SECTOR, () => `Could not read const header from file '${filenameOf(child)}'`));
    const problem = seSparseConstProblem(c);
    if (problem !== undefined) fail(problem);
    const v = pread(this.ctx, child, c.volatileHeaderOffset * SECTOR, SECTOR, () => `Could not read volatile header from file '${filenameOf(child)}'`);
    const vProblem = seSparseVolatileProblem(v);
    if (vProblem !== undefined) fail(vProblem);
    const l1Size = (c.grainDirSize * SECTOR) / 8;
    this.addExtent(child, { flat: false, sectors: c.capacity, clusterSectors: Number(c.grainSize), compressed: false, type: null }, l1Size, Number(c.grainSize));
    this.initTables(child, c.grainDirOffset * SECTOR, 0, l1Size * 8, 8);
  }

  /** `vmdk_open_vmdk4`. */
  openVmdk4(child: Child): void {
    let h = parseVmdk4Header(pread(this.ctx, child, 4, VMDK4_HEADER_SIZE, () => `Could not read header from file '${filenameOf(child)}'`));
    if (h.capacity === 0 && h.descOffset !== 0) {
      this.openDescFile(this.readDesc(child, h.descOffset * SECTOR));
      return;
    }
    if (this.state.createType === "") this.state.createType = "monolithicSparse";
    if (h.gdOffset === VMDK4_GD_AT_END) {
      // The footer takes precedence; vmdk.c places it by the length of bs->file, whichever extent this is.
      const at = Math.floor(nodeLength(this.file.bs) / SECTOR) * SECTOR - 1536;
      const footer = pread(this.ctx, child, at, 1536, () => "Failed to read footer");
      const valid =
        footer.readUInt32BE(512) === VMDK4_MAGIC &&
        footer.readUInt32LE(8) === 0 &&
        footer.readUInt32LE(12) === 3 &&
        footer.readBigUInt64LE(1024) === 0n &&
        footer.readUInt32LE(1032) === 0 &&
        footer.readUInt32LE(1036) === 0;
      if (!valid) fail("Invalid footer");
      h = parseVmdk4Header(footer.subarray(516, 516 + VMDK4_HEADER_SIZE));
    }
    const compressed = h.compressAlgorithm === VMDK4_COMPRESSION_DEFLATE;
    if (h.version > 3) fail(`Unsupported VMDK version ${h.version}`);
    if (h.version === 3 && !this.ctx.node.readOnly && !compressed) fail("VMDK version 3 must be read only");
    if (h.numGtesPerGt > 512) fail("L2 table size too big");
    // uint32_t arithmetic, as in vmdk.c.
    const l1EntrySectors = Number((BigInt(h.numGtesPerGt) * BigInt(h.granularity)) & 0xffffffffn);
    if (l1EntrySectors === 0) fail("L1 entry size is invalid");
    const l1Size = Number(((BigInt(h.capacity) + BigInt(l1EntrySectors) - 1n) / BigInt(l1EntrySectors)) & 0xffffffffn);
    const l1BackupOffset = h.flags & VMDK4_FLAG_RGD ? h.rgdOffset * SECTOR : 0;
    if (Math.floor(nodeLength(child.bs) / SECTOR) < h.grainOffset) fail(`File truncated, expecting at least ${h.grainOffset * SECTOR} bytes`);
    const extent = this.addExtent(child, { flat: false, sectors: h.capacity, clusterSectors: h.granularity, compressed, type: null }, l1Size, h.granularity, h.numGtesPerGt);
    extent.hasZeroGrain = (h.flags & VMDK4_FLAG_ZERO_GRAIN) !== 0;
    if (compressed) this.state.createType = "streamOptimized";
    this.initTables(child, Number(h.gdOffset) * SECTOR, l1BackupOffset, l1Size * 4);
  }

  /** `vmdk_open_desc_file`. */
  openDescFile(buf: Buffer): void {
    const desc = cString(buf);
    const ct = parseDescription(desc, "createType", 128);
    if (ct === undefined) fail("invalid VMDK image descriptor");
    if (!DESCRIPTOR_TYPES.includes(ct)) fail(`Unsupported image type '${ct}'`);
    this.state.createType = ct;
    this.state.descOffset = 0;
    this.parseExtents(desc);
  }

  /** `vmdk_parse_extents`. */
  parseExtents(desc: string): void {
    let dir: string | undefined;
    for (let p = 0; p < desc.length; p = nextLine(desc, p)) {
      const s = scanExtentLine(desc.slice(p));
      if (s.matches < 4 || s.access !== "RW") continue;
      // FLAT needs its offset; VMFS takes none (its offset is 0); the others take none either.
      const invalid = s.type === "FLAT" ? s.matches !== 5 || s.flatOffset < 0 : s.matches !== 4;
      if (invalid) {
        let end = nextLine(desc, p);
        if (desc[end - 1] === "\n") end--;
        fail(`Invalid extent line: ${desc.slice(p, end)}`);
      }
      if (s.sectors <= 0 || !EXTENT_TYPES.includes(s.type)) continue;
      let path: string;
      if (s.fname.startsWith("/")) {
        path = s.fname;
      } else {
        dir ??= this.descriptorDir();
        path = dir + s.fname;
      }
      const flat = s.type === "FLAT" || s.type === "VMFS";
      // Non-flat extents have metadata.
      const role = flat ? BDRV_CHILD_DATA : BDRV_CHILD_DATA | BDRV_CHILD_METADATA;
      const child = this.ctx.openChildWithFilename(`extents.${this.state.extents.length}`, role, path);
      if (flat) {
        const extent = this.addExtent(child, { flat: true, sectors: s.sectors, clusterSectors: s.sectors, compressed: false, type: null }, 0, 0);
        extent.flatStartOffset = s.type === "FLAT" ? s.flatOffset * SECTOR : 0;
      } else if (s.type === "SPARSE" || s.type === "VMFSSPARSE") {
        this.openSparse(child, this.readDesc(child, 0));
      } else {
        this.openSeSparse(child);
      }
      // The type goes to the newest extent (a sparse extent with an embedded descriptor adds its own).
      const newest = this.state.extents[this.state.extents.length - 1];
      if (newest) newest.type = s.type;
    }
  }

  /** `bdrv_dirname(bs->file->bs)`, or the error vmdk_parse_extents makes of its failure. */
  private descriptorDir(): string {
    try {
      return bdrvDirname(this.file.bs);
    } catch (e) {
      if (e instanceof QmpFailure) fail(`Cannot use relative paths with VMDK descriptor file '${filenameOf(this.file)}': ${e.body.desc}`);
      throw e;
    }
  }
}

/** "Could not open '%s': %s" as bdrv_open_driver reports a driver failing without a message. */
function openFailed(file: Child, errnoText: string): never {
  fail(`Could not open '${filenameOf(file)}': ${errnoText}`);
}

/** `vmdk_open` after the file child is attached: the extents, the backing hint and the CIDs. */
export function vmdkOpen(ctx: OpenContext, file: Child): VmdkState {
  const o = new VmdkOpener(ctx, file);
  const buf = o.readDesc(file, 0);
  const magic = buf.readUInt32BE(0);
  if (magic === VMDK3_MAGIC || magic === VMDK4_MAGIC) {
    o.openSparse(file, buf);
    o.state.descOffset = 0x200;
  } else {
    // No data in the descriptor file.
    ctx.setChildRole(file, file.role & ~BDRV_CHILD_DATA);
    o.openDescFile(buf);
  }
  const st = o.state;
  // vmdk_parent_open and vmdk_read_cid read the descriptor again; their failures carry no message.
  let descBuf: Buffer;
  try {
    descBuf = bdrvPreadv(ctx.host, file.bs, st.descOffset, DESC_SIZE).toBuffer();
  } catch (e) {
    if (e instanceof IoError) openFailed(file, e.message);
    throw e;
  }
  const desc = cString(descBuf.subarray(0, DESC_SIZE - 1));
  const hint = parentFileNameHint(desc);
  if (hint === undefined) openFailed(file, "Invalid argument");
  if (hint !== null) {
    ctx.node.autoBackingFile = hint;
    ctx.node.backingFile = hint;
    ctx.node.backingFormat = "vmdk";
  }
  const cid = readCid(desc, false);
  const parentCid = readCid(desc, true);
  if (cid === undefined || parentCid === undefined) openFailed(file, "Invalid argument");
  st.cid = cid;
  st.cidOnDisk = cid;
  st.parentCid = parentCid;
  ctx.node.size = st.extents.reduce((sum, e) => sum + e.sectors, 0) * SECTOR;
  return st;
}
