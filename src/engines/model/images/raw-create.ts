/** A fresh raw image as `qemu-img create -f raw` 7.2 writes it. */
import type { ImageSpec } from "../../engine.js";
import { ImageSpecError } from "./image-errors.js";
import type { ImageLayout } from "./image-layout.js";

/** raw: no backing file, no data file, no creation options. */
export function rawImage(spec: ImageSpec, size: number): ImageLayout {
  if (spec.backingFile !== undefined) throw new ImageSpecError("Backing file not supported for file format 'raw'");
  if (spec.dataFile !== undefined) throw new ImageSpecError("Invalid parameter 'data_file'");
  return rawLayout(size);
}

/**
 * A raw file is sparse except for its first block, which file-posix writes with zeros when it grows
 * an empty file (`allocate_first_block`, to speed up later alignment probing): 512 bytes for files
 * under 4 KiB, else 4 KiB.
 */
function rawLayout(size: number): ImageLayout {
  if (size === 0) return { chunks: [], length: 0 };
  return { chunks: [{ offset: 0, bytes: Buffer.alloc(size < 4096 ? 512 : 4096) }], length: size };
}

