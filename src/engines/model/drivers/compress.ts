/** `compress`: a filter that needs a child format able to write compressed clusters. */
import { fail } from "../qmp-failure.js";
import type { DriverDef } from "./driver.js";
import { FILTER_DEFAULTS, filteredLength, openFilteredFile } from "./filter.js";

export const compressDriver: DriverDef = {
  ...FILTER_DEFAULTS,
  name: "compress",
  getLength: filteredLength,

  /** `compress_open`: the child's driver must have `.bdrv_co_pwritev_compressed` (block_driver_can_compress). */
  open(ctx) {
    const file = openFilteredFile(ctx);
    if (!file.bs.driver.canCompress) {
      fail(`Compression is not supported for underlying format: ${file.bs.driver.name}`);
    }
  },
};
