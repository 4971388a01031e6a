/**
 * The model's `qemu-img create`: one writer per format the `image` statement creates (the language's
 * IMAGE_FORMAT_OPTIONS), each in a file of its own.
 */
import type { ImageWriter } from "./image-layout.js";
import { luksImage } from "./luks-create.js";
import { parallelsImage } from "./parallels-create.js";
import { qcowImage } from "./qcow-create.js";
import { qcow2Image } from "./qcow2-create.js";
import { qedImage } from "./qed-create.js";
import { rawImage } from "./raw-create.js";
import { vdiImage } from "./vdi-create.js";
import { vpcImage } from "./vpc-create.js";
import { vhdxImage } from "./vhdx-create.js";
import { vmdkImage } from "./vmdk-create.js";

export const IMAGE_WRITERS: Readonly<Record<string, ImageWriter>> = {
  luks: luksImage,
  parallels: parallelsImage,
  qcow: qcowImage,
  qcow2: qcow2Image,
  qed: qedImage,
  raw: rawImage,
  vdi: vdiImage,
  vpc: vpcImage,
  vhdx: vhdxImage,
  vmdk: vmdkImage,
};
