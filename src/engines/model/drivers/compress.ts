/** `compress`: a filter that needs a child format able to write compressed clusters. */
import { bdrvPwritev } from "../data/block-io.js";
import { BDRV_REQ_WRITE_COMPRESSED } from "../data/request-flags.js";
import { filteredChild } from "../graph.js";
import { bdrvGetInfo } from "../query/named-nodes.js";
import { fail } from "../qmp-failure.js";
import type { DriverDef } from "./driver.js";
import { FILTER_DEFAULTS, FILTER_IO, filteredLength, filteredSupportsZeroUnmap, openFilteredFile } from "./filter.js";

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
    const child = filteredChild(node);
    const clusterSize = child ? (bdrvGetInfo(child.bs)?.clusterSize ?? 0) : 0;
    return clusterSize ? { requestAlignment: clusterSize } : {};
  },

  /** `compress_co_pwritev_part`: every write goes down compressed. */
  pwritev(host, node, offset, data, flags) {
    const file = filteredChild(node)!;
    bdrvPwritev(host, file.bs, offset, data, flags | BDRV_REQ_WRITE_COMPRESSED, file);
  },
};
