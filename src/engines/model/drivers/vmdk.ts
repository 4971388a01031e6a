/**
 * `vmdk`: a format driver with a `file` child (a monolithic sparse image, or a descriptor file) and,
 * for descriptor files, one child per extent (`extents.0`, `extents.1`…, opened from the names the
 * descriptor gives), plus a `backing` named by parentFileNameHint. Opening is vmdk-open.ts; the data
 * path reads grains and reports their status, and writes them (vmdk-write.ts); reads of compressed
 * grains and writes to streamOptimized extents are not modelled.
 */
import { bdrvDefaultPerms } from "../child-perms.js";
import { bdrvPreadv } from "../data/block-io.js";
import { Data } from "../data/data.js";
import { Errno, ioFail, ModelIoUnsupportedError } from "../data/io-error.js";
import { BDRV_BLOCK_DATA, BDRV_BLOCK_OFFSET_VALID, BDRV_BLOCK_RECURSE, BDRV_BLOCK_ZERO } from "../data/request-flags.js";
import { type BdsNode, childNamed } from "../graph.js";
import { vmdkProbe } from "../images/vmdk-format.js";
import { OpaqueSlot } from "../opaque.js";
import { FilenameCache } from "../query/filename.js";
import { BDRV_CHILD_IMAGE } from "../roles.js";
import type { DriverDef, DriverHost } from "./driver.js";
import { type VmdkExtent, vmdkOpen, type VmdkState } from "./vmdk-open.js";
import { vmdkPwritev, type VmdkWriter } from "./vmdk-write.js";

const slot = new OpaqueSlot<VmdkState>("vmdk");
const SECTOR = 512;

/** `vmdk_extents_type_eq`. */
function sameKind(a: VmdkExtent, b: VmdkExtent): boolean {
  return a.flat === b.flat && a.compressed === b.compressed && (a.flat || a.clusterSectors === b.clusterSectors);
}

/** `vmdk_get_extent_info`: an ImageInfo in QAPI member order. */
function extentInfo(node: BdsNode, e: VmdkExtent, names: FilenameCache): Record<string, unknown> {
  // The extent's current node: vmdk_reopen_commit makes extents in bs->file follow a new file child.
  const child = childNamed(node, e.child)!;
  const info: Record<string, unknown> = {
    filename: names.filename(child.bs),
    // g_strdup(NULL) for a monolithic image's extent, which QAPI prints as "".
    format: e.type ?? "",
    "virtual-size": e.sectors * SECTOR,
  };
  if (!e.flat) info["cluster-size"] = e.clusterSectors * SECTOR;
  if (e.compressed) info["compressed"] = true;
  return info;
}

export const vmdkDriver: DriverDef = {
  name: "vmdk",
  protocol: false,
  isFilter: false,
  supportsBacking: true,
  /** `.bdrv_co_pwritev_compressed`: streamOptimized images are written compressed, others as usual. */
  canCompress: true,
  mutableOpts: [],

  /** `vmdk_probe`. */
  probe: (buf) => vmdkProbe(buf),

  /** `vmdk_open`. */
  open(ctx) {
    const file = ctx.openChild("file", BDRV_CHILD_IMAGE, false)!;
    slot.set(ctx.node, vmdkOpen(ctx, file));
  },

  childPerm: bdrvDefaultPerms,

  /**
   * `vmdk_reopen_prepare` takes no options and refuses nothing; commit re-points the extents kept in
   * bs->file, which the model's extents follow by child name anyway.
   */
  reopenPrepare() {},

  /** `vmdk_get_info`: one cluster size, if every extent is of one kind. */
  getInfo(node) {
    const { extents } = slot.get(node);
    const first = extents[0]!;
    if (!extents.every((e) => sameKind(first, e))) return { notSupported: true };
    return { info: { clusterSize: first.flat ? 0 : first.clusterSectors * SECTOR, isDirty: false } };
  },

  /** `vmdk_get_specific_info`: ImageInfoSpecificVmdk. */
  getSpecificInfo(node) {
    const st = slot.get(node);
    const names = new FilenameCache();
    return {
      type: "vmdk",
      data: {
        "create-type": st.createType,
        cid: st.cid,
        "parent-cid": st.parentCid,
        extents: st.extents.map((e) => extentInfo(node, e, names)),
      },
    };
  },

  /** `vmdk_gather_child_options`: only `file` (and an overridden backing) describe the node. */
  gatherChildOptions(node, fullJson) {
    const out: Record<string, string> = { file: fullJson(childNamed(node, "file")!.bs) };
    const backing = childNamed(node, "backing");
    const names = new FilenameCache();
    const overridden = backing ? node.autoBackingFile !== names.filename(backing.bs) : node.autoBackingFile !== "";
    if (overridden) out["backing"] = backing ? fullJson(backing.bs) : "null";
    return out;
  },

  /** `vmdk_refresh_limits`: zero writes go by the largest grain of the sparse extents. */
  ioLimits(node) {
    const grains = slot.get(node).extents.filter((e) => !e.flat).map((e) => e.clusterSectors * SECTOR);
    return grains.length > 0 ? { pwriteZeroesAlignment: Math.max(...grains) } : {};
  },

  /** `vmdk_co_block_status`: one grain (a flat extent is one grain) at a time. */
  blockStatus(host, node, _wantZero, offset, bytes) {
    const extent = findExtent(slot.get(node), offset);
    const file = childNamed(node, extent.child)!.bs;
    const c = clusterOffset(host, file, extent, offset);
    const inCluster = offsetInCluster(extent, offset);
    const pnum = Math.min(extent.clusterSectors * SECTOR - inCluster, bytes);
    if (c === "unallocated") return { status: 0, pnum, map: 0, file: null };
    if (c === "zeroed") return { status: BDRV_BLOCK_ZERO, pnum, map: 0, file: null };
    if (extent.compressed) return { status: BDRV_BLOCK_DATA, pnum, map: 0, file };
    const status = BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID | (extent.flat ? BDRV_BLOCK_RECURSE : 0);
    return { status, pnum, map: c + inCluster, file };
  },

  /**
   * `vmdk_co_preadv`: grain by grain, from the extent's file; an unallocated grain from the backing
   * file, which must be a vmdk whose CID is the parent CID this image names (-EINVAL otherwise), or
   * zeros; a zeroed grain as zeros.
   */
  preadv(host, node, offset, bytes) {
    const st = slot.get(node);
    const parts: Data[] = [];
    while (bytes > 0) {
      const extent = findExtent(st, offset);
      const file = childNamed(node, extent.child)!.bs;
      const c = clusterOffset(host, file, extent, offset);
      const inCluster = offsetInCluster(extent, offset);
      const n = Math.min(bytes, extent.clusterSectors * SECTOR - inCluster);
      const backing = childNamed(node, "backing")?.bs;
      if (c === "unallocated" && backing) {
        if (!cidValid(st, backing)) ioFail(Errno.EINVAL);
        parts.push(bdrvPreadv(host, backing, offset, n));
      } else if (typeof c !== "number") {
        parts.push(Data.zeros(n));
      } else if (extent.compressed) {
        throw new ModelIoUnsupportedError("reads of compressed vmdk grains");
      } else {
        parts.push(bdrvPreadv(host, file, c + inCluster, n));
      }
      offset += n;
      bytes -= n;
    }
    return Data.concat(parts);
  },

  /** `vmdk_co_pwritev`. */
  pwritev(host, node, offset, data) {
    vmdkPwritev(writer(host, node), offset, data.length, data);
  },

  /**
   * `vmdk_co_pwritev_compressed`: an ordinary write (compressed only where the extent is, which the
   * model does not write).
   */
  pwritevCompressed(host, node, offset, data) {
    vmdkPwritev(writer(host, node), offset, data.length, data);
  },

  /** `vmdk_co_pwrite_zeroes`: a dry run over the request first, so that a refusal changes nothing. */
  pwriteZeroes(host, node, offset, bytes) {
    const w = writer(host, node);
    vmdkPwritev(w, offset, bytes, null, true);
    vmdkPwritev(w, offset, bytes, null);
  },
};

/** What vmdk-write.ts works with. */
function writer(host: DriverHost, node: BdsNode): VmdkWriter {
  const st = slot.get(node);
  return { host, node, st, cidValid: () => cidValid(st, childNamed(node, "backing")?.bs ?? null), findExtent: (offset) => findExtent(st, offset) };
}

/** `find_extent`: the extent holding the sector; -EIO past the last one. */
function findExtent(st: VmdkState, offset: number): VmdkExtent {
  const sector = Math.floor(offset / SECTOR);
  return st.extents.find((e) => sector < e.endSector) ?? ioFail(Errno.EIO);
}

/** `vmdk_find_offset_in_cluster`. */
function offsetInCluster(e: VmdkExtent, offset: number): number {
  return (offset - (e.endSector - e.sectors) * SECTOR) % (e.clusterSectors * SECTOR);
}

/** VMDK_GTE_ZEROED: a grain table entry that marks a zeroed grain. */
const GTE_ZEROED = 1;

/** `get_cluster_offset` without allocating: the grain's offset in the extent's file, or what it is instead. */
function clusterOffset(host: DriverHost, file: BdsNode, e: VmdkExtent, offset: number): number | "unallocated" | "zeroed" {
  if (e.flat) return e.flatStartOffset;
  if (!e.l1Table) throw new ModelIoUnsupportedError("the grain tables of a seSparse vmdk extent");
  const rel = offset - (e.endSector - e.sectors) * SECTOR;
  const l1Index = Math.floor(Math.floor(rel / SECTOR) / (e.l2Size * e.clusterSectors));
  if (l1Index >= e.l1Table.length) ioFail(Errno.EIO);
  const l2Offset = e.l1Table[l1Index]!;
  if (!l2Offset) return "unallocated";
  const table = bdrvPreadv(host, file, l2Offset * SECTOR, e.l2Size * 4).toBuffer();
  const l2Index = Math.floor(Math.floor(rel / SECTOR) / e.clusterSectors) % e.l2Size;
  const sector = table.readUInt32LE(l2Index * 4);
  if (e.hasZeroGrain && sector === GTE_ZEROED) return "zeroed";
  if (!sector) return "unallocated";
  return sector * SECTOR;
}

/**
 * `vmdk_is_cid_valid`: the backing file is a vmdk whose descriptor holds this image's parent CID
 * (read from its file each time, until it once matches: a write to the backing file that put a
 * random CID there fails every check after it).
 */
function cidValid(st: VmdkState, backing: BdsNode | null): boolean {
  if (!st.cidChecked && backing) {
    if (backing.driver.name !== "vmdk") return false;
    const onDisk = slot.get(backing).cidOnDisk;
    if (onDisk === null || onDisk !== st.parentCid) return false;
  }
  st.cidChecked = true;
  return true;
}
