/**
 * `vmdk`: a format driver with a `file` child (a monolithic sparse image, or a descriptor file) and,
 * for descriptor files, one child per extent (`extents.0`, `extents.1`…, opened from the names the
 * descriptor gives), plus a `backing` named by parentFileNameHint. Opening is vmdk-open.ts; the data
 * path is not modelled (a request through a vmdk node fails as "not modelled", a compressed write
 * too: canCompress only says the driver has that hook).
 */
import { bdrvDefaultPerms } from "../child-perms.js";
import { ModelIoUnsupportedError } from "../data/io-error.js";
import { type BdsNode, childNamed } from "../graph.js";
import { vmdkProbe } from "../images/vmdk-format.js";
import { OpaqueSlot } from "../opaque.js";
import { FilenameCache } from "../query/filename.js";
import { BDRV_CHILD_IMAGE } from "../roles.js";
import type { DriverDef } from "./driver.js";
import { type VmdkExtent, vmdkOpen, type VmdkState } from "./vmdk-open.js";

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
  /** `.bdrv_co_pwritev_compressed`: streamOptimized images are written compressed. */
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

  /** `vmdk_co_block_status` walks grain tables the model does not read. */
  blockStatus() {
    throw new ModelIoUnsupportedError("block status of a 'vmdk' node");
  },
};
