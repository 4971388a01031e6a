/**
 * The model's `qemu-img create`: one writer per format the `image` statement creates (the language's
 * IMAGE_FORMAT_OPTIONS), each in a file of its own.
 */
import type { ImageWriter } from "./image-layout.js";
import { qcow2Image } from "./qcow2-create.js";
import { rawImage } from "./raw-create.js";

export const IMAGE_WRITERS: Readonly<Record<string, ImageWriter>> = {
  qcow2: qcow2Image,
  raw: rawImage,
};
