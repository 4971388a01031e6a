/**
 * A fresh Parallels image as `qemu-img create -f parallels` 7.2 writes it (`parallels_co_create`):
 * the header in sector 0, then zeros written up to the end of the BAT, rounded up to whole clusters
 * (where the data starts). qemu-img rounds the size and the cluster size up to whole sectors.
 */
import type { ImageSpec } from "../../engine.js";
import { ImageRefusedAfterCreateError, ImageSpecError } from "./image-errors.js";
import type { ImageLayout } from "./image-layout.js";
import {
  batEntryOff,
  PARALLELS_DEFAULT_CLUSTER_SIZE,
  PARALLELS_HEADS,
  PARALLELS_MAGIC2,
  PARALLELS_SEC_IN_CYL,
  PARALLELS_VERSION,
  serializeParallelsHeader,
} from "./parallels-format.js";
import { parseSizeOption } from "./qed-create.js";

/** MAX_PARALLELS_IMAGE_FACTOR. */
const IMAGE_FACTOR = 1n << 32n;
const INT64_MAX = (1n << 63n) - 1n;
/** The largest BAT area the writer builds in memory. */
const MAX_IN_MEMORY = 256 << 20;

/** parallels: `cluster_size`; no backing file. */
export function parallelsImage(spec: ImageSpec, size: number): ImageLayout {
  if (spec.backingFile !== undefined) throw new ImageSpecError("Backing file not supported for file format 'parallels'");
  if (spec.dataFile !== undefined) throw new ImageSpecError("Invalid parameter 'data_file'");
  let clusterSize = BigInt(PARALLELS_DEFAULT_CLUSTER_SIZE);
  for (const [key, value] of spec.createOptions ?? []) {
    if (key === "cluster_size") clusterSize = parseSizeOption("parallels", key, value);
    else throw new ImageSpecError(`Invalid parameter '${key}'`);
  }
  // Silently rounded up to whole sectors (parallels_co_create_opts); then the sanity checks.
  clusterSize = ((clusterSize + 511n) / 512n) * 512n;
  const total = BigInt(size);
  // parallels_co_create checks, once the file is there.
  if (clusterSize >= INT64_MAX / IMAGE_FACTOR) throw new ImageRefusedAfterCreateError("Cluster size is too large");
  if (total >= IMAGE_FACTOR * clusterSize) throw new ImageRefusedAfterCreateError("Image size is too large for this cluster size");
  const cl = Number(clusterSize);
  // bat_entries, bat_sectors and the header's cylinders are uint32_t: a size near the maximum
  // (2^52 - 512 at 1 MiB clusters) wraps them, as QEMU writes them.
  const u32 = (v: bigint) => Number(BigInt.asUintN(32, v));
  const batEntries = u32((total + clusterSize - 1n) / clusterSize);
  const batSectors = u32(((BigInt(batEntryOff(batEntries)) + clusterSize - 1n) / clusterSize) * clusterSize / 512n);
  const header = serializeParallelsHeader({
    magic: PARALLELS_MAGIC2,
    version: PARALLELS_VERSION,
    heads: PARALLELS_HEADS,
    cylinders: u32(total / 512n / BigInt(PARALLELS_HEADS) / BigInt(PARALLELS_SEC_IN_CYL)),
    tracks: cl / 512,
    batEntries,
    nbSectors: (total + 511n) / 512n,
    inuse: 0,
    dataOff: batSectors,
    flags: 0,
    extOff: 0n,
  });
  // The layout holds the zeros as a buffer: a BAT of gigabytes is beyond the model.
  if (batSectors * 512 > MAX_IN_MEMORY) throw new ImageSpecError(`the model cannot create a parallels image with a ${batSectors * 512}-byte BAT`);
  const sector0 = Buffer.alloc(512);
  header.copy(sector0);
  const chunks = [{ offset: 0, bytes: sector0 }];
  if (batSectors > 1) chunks.push({ offset: 512, bytes: Buffer.alloc((batSectors - 1) * 512) });
  return { chunks, length: batSectors * 512 };
}
