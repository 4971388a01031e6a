/**
 * parallels' `parallels_co_create` (block/parallels.c) for blockdev-create: the size and cluster
 * size are checked as given (qemu-img rounds them to sectors first; blockdev-create refuses them
 * unaligned), then the header sector and the zeroed rest of the BAT are written on the file node
 * as for `qemu-img create` (images/parallels-create.ts), over what the file holds.
 */
import { Errno } from "../data/io-error.js";
import { ImageRefusedAfterCreateError, ImageSpecError } from "../images/image-errors.js";
import { parallelsImage } from "../images/parallels-create.js";
import { PARALLELS_DEFAULT_CLUSTER_SIZE } from "../images/parallels-format.js";
import type { LayerState } from "../layer-state.js";
import { ModelUnsupportedError } from "../model-unsupported.js";
import { createFail } from "./create-failure.js";
import { uint64Of } from "./qapi-sizes.js";
import { openRef, requireFileDriver, withCreateBackend, writeLayoutOn } from "./create-on-node.js";

/** MAX_PARALLELS_IMAGE_FACTOR. */
const IMAGE_FACTOR = 1n << 32n;
const INT64_MAX = (1n << 63n) - 1n;
const E2BIG = 7;

export function parallelsCreate(state: LayerState, opts: Record<string, unknown>): void {
  // total_size and cl_size are int64_t, but MAX_PARALLELS_IMAGE_FACTOR is an unsigned long long:
  // both checks compare as uint64_t, a product that overflows wrapping.
  const size = uint64Of(opts["size"]);
  const clusterSize = opts["cluster-size"] === undefined ? BigInt(PARALLELS_DEFAULT_CLUSTER_SIZE) : uint64Of(opts["cluster-size"]);
  if (clusterSize >= INT64_MAX / IMAGE_FACTOR) createFail("Cluster size is too large", Errno.EINVAL);
  if (size >= BigInt.asUintN(64, IMAGE_FACTOR * clusterSize)) createFail("Image size is too large for this cluster size", E2BIG);
  if (size % 512n !== 0n) createFail("Image size must be a multiple of 512 bytes", Errno.EINVAL);
  if (clusterSize % 512n !== 0n) createFail("Cluster size must be a multiple of 512 bytes", Errno.EINVAL);
  let layout;
  try {
    layout = parallelsImage({ path: "", format: "parallels", size: Number(size), createOptions: [["cluster_size", String(clusterSize)]] }, Number(size));
  } catch (e) {
    if (e instanceof ImageSpecError || e instanceof ImageRefusedAfterCreateError) throw new ModelUnsupportedError(`blockdev-create of parallels: ${e.message}`);
    throw e;
  }
  const bs = openRef(state, opts["file"]);
  withCreateBackend(state, bs, () => {
    requireFileDriver(bs, "parallels", "file");
    writeLayoutOn(state, bs, layout);
  });
}
