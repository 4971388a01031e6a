/**
 * VDI's `vdi_co_create` → `vdi_co_do_create` (block/vdi.c) for blockdev-create: preallocation
 * `off` makes a dynamic image, `metadata` a static one, others are refused; the size is checked
 * before the file node is opened; then the header and the block map are written as for
 * `qemu-img create` (images/vdi-create.ts, its random UUIDs as zeros), over what the file holds,
 * and a static image's file is truncated to the end of its data area.
 */
import { Errno } from "../data/io-error.js";
import { bdrvTruncate } from "../data/truncate.js";
import { ImageRefusedAfterCreateError } from "../images/image-errors.js";
import { vdiImage } from "../images/vdi-create.js";
import type { LayerState } from "../layer-state.js";
import { createFail } from "./create-failure.js";
import { uint64Of } from "./qapi-sizes.js";
import { VDI_DISK_SIZE_MAX } from "../images/vdi-format.js";
import { openRef, requireFileDriver, withCreateBackend, writeLayoutOn } from "./create-on-node.js";

export function vdiCreate(state: LayerState, opts: Record<string, unknown>): void {
  const size = Number(opts["size"]);
  const prealloc = (opts["preallocation"] as string | undefined) ?? "off";
  if (prealloc !== "off" && prealloc !== "metadata") createFail("Preallocation mode not supported for vdi", Errno.EINVAL);
  const isStatic = prealloc === "metadata";
  // vdi_co_do_create compares the uint64_t size before anything else does.
  const bytes = uint64Of(opts["size"]);
  if (bytes > VDI_DISK_SIZE_MAX) createFail(`Unsupported VDI image size (size is 0x${bytes.toString(16)}, max supported is 0x${VDI_DISK_SIZE_MAX.toString(16)})`, Errno.ENOTSUP);
  let layout;
  try {
    layout = vdiImage({ path: "", format: "vdi", size, createOptions: [["static", isStatic ? "on" : "off"]] }, size);
  } catch (e) {
    if (e instanceof ImageRefusedAfterCreateError) createFail(e.message, Errno.ENOTSUP);
    throw e;
  }
  const bs = openRef(state, opts["file"]);
  withCreateBackend(state, bs, () => {
    requireFileDriver(bs, "vdi", "file");
    writeLayoutOn(state, bs, layout);
    if (isStatic) bdrvTruncate(state, bs, layout.length, false, "off", 0);
  });
}
