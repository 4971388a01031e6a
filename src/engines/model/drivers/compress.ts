/** `compress`: a filter that needs a child format able to write compressed clusters. */
import { fail } from "../qmp-failure.js";
import type { DriverDef } from "./driver.js";
import { FILTER_DEFAULTS, filteredLength, openFilteredFile } from "./filter.js";

/** Drivers with .bdrv_co_pwritev_compressed among the modelled ones (checked on QEMU 7.2). */
const CAN_COMPRESS = new Set(["qcow2", "copy-on-read", "throttle"]);

export const compressDriver: DriverDef = {
  ...FILTER_DEFAULTS,
  name: "compress",
  getLength: filteredLength,
  supportsReopen: false,

  open(ctx) {
    const file = openFilteredFile(ctx);
    if (!CAN_COMPRESS.has(file.bs.driver.name)) {
      fail(`Compression is not supported for underlying format: ${file.bs.driver.name}`);
    }
  },
};
