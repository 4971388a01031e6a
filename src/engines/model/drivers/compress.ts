/** `compress`: a filter that needs a child format able to write compressed clusters. */
import { fail } from "../qmp-failure.js";
import { ROLE_FILTERED, ROLE_PRIMARY } from "../roles.js";
import type { DriverDef } from "./driver.js";

/** Drivers with .bdrv_co_pwritev_compressed among the modelled ones (checked on QEMU 7.2). */
const CAN_COMPRESS = new Set(["qcow2", "copy-on-read", "throttle"]);

export const compressDriver: DriverDef = {
  name: "compress",
  protocol: false,
  isFilter: true,
  isFormat: false,
  supportsBacking: false,
  supportsReopen: false,
  mutableOpts: [],
  reopenOpts: [],

  open(ctx) {
    const file = ctx.openChild("file", ROLE_FILTERED | ROLE_PRIMARY, false)!;
    if (!CAN_COMPRESS.has(file.bs.driver.name)) {
      fail(`Compression is not supported for underlying format: ${file.bs.driver.name}`);
    }
    ctx.node.size = file.bs.size;
  },
};
