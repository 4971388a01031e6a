/**
 * The images every generated sequence starts with: raw files, a 1000-byte raw file (for blkdebug
 * alignment), and qcow2 images with and without backing files in their headers, one of them
 * keeping its data in an external data file.
 */
import { STANDARD_IMAGES } from "./fixture-file.js";
import { image, type ImageStep } from "./steps.js";
import { VDI_IMAGE_STEPS } from "./gen-vdi.js";
import { VPC_IMAGE_STEPS } from "./gen-vpc.js";
import { VHDX_IMAGE_STEPS } from "./gen-vhdx.js";
import { QED_IMAGE_STEPS } from "./gen-qed.js";
import { QCOW_IMAGE_STEPS } from "./gen-qcow.js";
import { PARALLELS_IMAGE_STEPS } from "./gen-parallels.js";
import { VMDK_IMAGE_STEPS } from "./gen-vmdk.js";

export const GENERATED_IMAGES: readonly ImageStep[] = [
  ...STANDARD_IMAGES,
  image("mid.qcow2", "qcow2", 1 << 20, { file: "base.qcow2", format: "qcow2" }),
  image("chain.qcow2", "qcow2", 1 << 20, { file: "mid.qcow2", format: "qcow2" }),
  image("over-raw.qcow2", "qcow2", 1 << 20, { file: "raw2.img", format: "raw" }),
  { kind: "image", spec: { path: "data.qcow2", format: "qcow2", size: 1 << 20, dataFile: "data.img" } },
  ...VDI_IMAGE_STEPS,
  ...VPC_IMAGE_STEPS,
  ...VHDX_IMAGE_STEPS,
  ...QED_IMAGE_STEPS,
  ...QCOW_IMAGE_STEPS,
  ...PARALLELS_IMAGE_STEPS,
  ...VMDK_IMAGE_STEPS,
];

export const RAW_IMAGES = ["raw.img", "raw2.img", "odd.img", "data.img"] as const;
export const QCOW2_IMAGES = ["base.qcow2", "top.qcow2", "other.qcow2", "mid.qcow2", "chain.qcow2", "over-raw.qcow2", "data.qcow2"] as const;
