/**
 * Create an image file as `qemu-img create` 7.2 does, byte for byte and block for block (the
 * allocation is QEMU's actual-size). Each format's writer (image-writers.ts) gives the image as an
 * ImageLayout: the pieces qemu-img writes and the file's length; this file puts a layout on disk.
 */
import { closeSync, ftruncateSync, openSync, writeSync } from "node:fs";
import type { ImageSpec } from "../../engine.js";
import { ImageReadError, ImageSpecError } from "./image-errors.js";
import type { ImageLayout } from "./image-layout.js";
import { IMAGE_WRITERS } from "./image-writers.js";
import { roundUp } from "./qcow2-format.js";

/** Write `spec` (its `path` is ignored) to `absPath`, replacing any file there. Throws ImageSpecError or ImageReadError. */
export function writeImage(absPath: string, spec: ImageSpec): void {
  const pieces = imageLayout(spec);
  let fd: number;
  try {
    fd = openSync(absPath, "w");
  } catch (e) {
    throw new ImageReadError(absPath, (e as NodeJS.ErrnoException).code ?? "EIO", { cause: e });
  }
  try {
    for (const { offset, bytes } of pieces.chunks) writeSync(fd, bytes, 0, bytes.length, offset);
    ftruncateSync(fd, pieces.length);
  } finally {
    closeSync(fd);
  }
}

/** The image `spec` describes, as qemu-img would write it. Throws ImageSpecError. */
export function imageLayout(spec: ImageSpec): ImageLayout {
  if (!Number.isSafeInteger(spec.size) || spec.size < 0) throw new ImageSpecError(`invalid image size ${spec.size}`);
  const writer = IMAGE_WRITERS[spec.format];
  if (writer === undefined) throw new ImageSpecError(`the model cannot create ${spec.format} images`);
  // qemu-img rounds every size up to whole 512-byte sectors.
  return writer(spec, roundUp(spec.size, 512));
}

