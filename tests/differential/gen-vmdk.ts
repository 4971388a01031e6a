/**
 * vmdk for the differential generator: a monolithic sparse image, a streamOptimized one,
 * descriptor images with flat and sparse extents and one with a backing file, and blockdev-add of
 * vmdk nodes over them — now and then over a file that is no vmdk image, over a raw window into one,
 * or read-only.
 */
import type { Prng } from "../../src/fuzz/prng.js";
import { childRef, headerReadIsUnfollowed, inlineFile, maybeReadOnly, newName } from "./gen-add.js";
import type { GenState, LiveView } from "./gen-state.js";
import { QCOW2_IMAGES, RAW_IMAGES } from "./gen-images.js";
import { qmp, type ImageStep, type Json, type QmpStep } from "./steps.js";

/** The vmdk images every generated sequence starts with (extent files are made beside them). */
export const VMDK_IMAGE_STEPS: readonly ImageStep[] = [
  { kind: "image", spec: { path: "mono.vmdk", format: "vmdk", size: 1 << 20 } },
  { kind: "image", spec: { path: "stream.vmdk", format: "vmdk", size: 2 << 20, createOptions: [["subformat", "streamOptimized"]] } },
  { kind: "image", spec: { path: "flat.vmdk", format: "vmdk", size: 1 << 20, createOptions: [["subformat", "monolithicFlat"], ["adapter_type", "lsilogic"]] } },
  { kind: "image", spec: { path: "split.vmdk", format: "vmdk", size: 2 ** 31 + (1 << 20), createOptions: [["subformat", "twoGbMaxExtentSparse"]] } },
  // Its descriptor's parentFileNameHint opens flat.vmdk as its backing file.
  { kind: "image", spec: { path: "over.vmdk", format: "vmdk", size: 1 << 20, backingFile: "flat.vmdk", backingFormat: "vmdk" } },
];

export const VMDK_IMAGES = VMDK_IMAGE_STEPS.map((s) => s.spec.path);

/** The file child: usually a vmdk image, sometimes another image or a raw window into a vmdk image. */
function fileChild(rng: Prng, state: GenState, view: LiveView): Json {
  if (rng.chance(0.05)) {
    // A window that starts at the embedded descriptor (or inside a descriptor file).
    return { driver: "raw", offset: 512, file: { driver: "file", filename: `$TEST_DIR/${rng.pick(VMDK_IMAGES)}` } };
  }
  const images = rng.chance(0.9) ? VMDK_IMAGES : [...RAW_IMAGES, ...QCOW2_IMAGES];
  const file = childRef(rng, state, view, images);
  // vmdk_open reads its header and descriptor through the file child: only through nodes whose data path the model follows.
  return headerReadIsUnfollowed(view, file) ? inlineFile(rng, state, images) : file;
}

/** blockdev-add of a vmdk node. */
export function vmdkNode(rng: Prng, state: GenState, view: LiveView): QmpStep {
  const d: { [key: string]: Json } = { driver: "vmdk", "node-name": newName(rng, state, view, "vmdk"), file: fileChild(rng, state, view) };
  if (rng.chance(0.1)) d.backing = null;
  // BlockdevOptionsVmdk has no extents in 7.2: QAPI refuses them.
  if (rng.chance(0.02)) d.extents = [];
  return qmp("blockdev-add", maybeReadOnly(rng, d, 0.3));
}
