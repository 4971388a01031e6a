/** `compress`: a filter that needs a child format able to write compressed clusters. */
import { bdrvPwritev } from "../data/block-io.js";
import { BDRV_REQ_WRITE_COMPRESSED } from "../data/request-flags.js";
import { type BdsNode, filteredChild } from "../graph.js";
import { bdrvGetInfo } from "../query/named-nodes.js";
import { fail } from "../qmp-failure.js";
import type { DriverDef } from "./driver.js";
import { FILTER_DEFAULTS, FILTER_IO, filteredLength, filteredSupportsZeroUnmap, openFilteredFile } from "./filter.js";

/** bl.request_alignment as compress_refresh_limits last set it: the child's cluster size then (0: none). */
const refreshed = new WeakMap<BdsNode, number>();

function childClusterSize(node: BdsNode): number {
  const child = filteredChild(node);
  return child ? (bdrvGetInfo(child.bs)?.clusterSize ?? 0) : 0;
}

export const compressDriver: DriverDef = {
  ...FILTER_DEFAULTS,
  ...FILTER_IO,
  supportsZeroUnmap: filteredSupportsZeroUnmap,
  name: "compress",
  fua: { write: "file", zero: "file" },
  compressesWrites: true,
  getLength: filteredLength,

  /** `compress_open`: the child's driver must have `.bdrv_co_pwritev_compressed` (block_driver_can_compress). */
  open(ctx) {
    const file = openFilteredFile(ctx);
    if (!file.bs.driver.canCompress) {
      fail(`Compression is not supported for underlying format: ${file.bs.driver.name}`);
    }
  },

  /** `compress_refresh_limits`: requests come in whole clusters of the child (smaller ones are padded). */
  ioLimits(node) {
    const clusterSize = refreshed.get(node) ?? childClusterSize(node);
    return clusterSize ? { requestAlignment: clusterSize } : {};
  },

  /** The child's cluster size as it is now, kept until the next refresh (a replaced child keeps it). */
  refreshLimits(node) {
    const old = refreshed.get(node);
    refreshed.set(node, childClusterSize(node));
    return () => (old === undefined ? refreshed.delete(node) : refreshed.set(node, old));
  },

  /** `compress_co_pwritev_part`: every write goes down compressed. */
  pwritev(host, node, offset, data, flags) {
    const file = filteredChild(node)!;
    bdrvPwritev(host, file.bs, offset, data, flags | BDRV_REQ_WRITE_COMPRESSED, file);
  },
};
