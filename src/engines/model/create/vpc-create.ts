/**
 * VHD's `vpc_co_create` (block/vpc.c) for blockdev-create: the file node is opened first, then the
 * size must be one its CHS geometry represents exactly (qemu-img rounds it up instead) unless
 * `force-size`; a dynamic image's footers, BAT and header are written as for `qemu-img create`
 * (images/vpc-create.ts, its timestamp and UUID zeros), over what the file holds; a fixed image's
 * file is truncated to the size and a footer (`create_fixed_disk`).
 */
import type { ImageSpec } from "../../engine.js";
import { Errno } from "../data/io-error.js";
import { bdrvTruncate } from "../data/truncate.js";
import { ImageRefusedAfterCreateError } from "../images/image-errors.js";
import { roundedImageSize, vpcImage } from "../images/vpc-create.js";
import { VHD_FOOTER_SIZE } from "../images/vpc-format.js";
import type { LayerState } from "../layer-state.js";
import { createFail } from "./create-failure.js";
import { uint64Of } from "./qapi-sizes.js";
import { openRef, requireFileDriver, withCreateBackend, writeLayoutOn } from "./create-on-node.js";

export function vpcCreate(state: LayerState, opts: Record<string, unknown>): void {
  // calculate_rounded_image_size divides total_size by BDRV_SECTOR_SIZE, an unsigned long long:
  // a size of 2^63 and up counts as the uint64_t it came as (Number is near enough for its checks).
  const size = Number(uint64Of(opts["size"]));
  const subformat = (opts["subformat"] as string | undefined) ?? "dynamic";
  const forceSize = opts["force-size"] === true;
  const bs = openRef(state, opts["file"]);
  withCreateBackend(state, bs, () => {
    requireFileDriver(bs, "vpc", "file");
    let totalSectors: number;
    try {
      totalSectors = roundedImageSize(size, forceSize).totalSectors;
    } catch (e) {
      if (e instanceof ImageRefusedAfterCreateError) createFail("Disk size is too large, max size is 2040 GiB", Errno.EFBIG);
      throw e;
    }
    if (size !== totalSectors * 512) createFail("The requested image size cannot be represented in CHS geometry", Errno.EINVAL);
    const spec: ImageSpec = { path: "", format: "vpc", size, createOptions: [["subformat", subformat], ["force_size", forceSize ? "on" : "off"]] };
    const layout = vpcImage(spec, size);
    if (subformat === "dynamic") {
      writeLayoutOn(state, bs, layout);
      return;
    }
    bdrvTruncate(state, bs, size + VHD_FOOTER_SIZE, false, "off", 0);
    writeLayoutOn(state, bs, { chunks: layout.chunks.filter((c) => c.offset === size), length: layout.length });
  });
}
