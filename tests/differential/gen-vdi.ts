/**
 * vdi for the differential generator: a dynamic and a static image, and blockdev-add of vdi nodes
 * over them — and sometimes over a file that is no vdi image, or with a backing option vdi has not.
 */
import type { Prng } from "../../src/fuzz/prng.js";
import { formatNodeStart, maybeReadOnly } from "./gen-add.js";
import type { GenState, LiveView } from "./gen-state.js";
import { qmp, type ImageStep, type QmpStep } from "./steps.js";

/** The vdi images every generated sequence starts with. */
export const VDI_IMAGE_STEPS: readonly ImageStep[] = [
  { kind: "image", spec: { path: "dyn.vdi", format: "vdi", size: 3 << 20 } },
  { kind: "image", spec: { path: "static.vdi", format: "vdi", size: 1 << 20, createOptions: [["static", "on"]] } },
];

export const VDI_IMAGES = VDI_IMAGE_STEPS.map((s) => s.spec.path);

/** blockdev-add of a vdi node. */
export function vdiNode(rng: Prng, state: GenState, view: LiveView): QmpStep {
  const d = formatNodeStart(rng, state, view, "vdi", VDI_IMAGES, "vdi");
  if (rng.chance(0.03)) d.backing = null;
  return qmp("blockdev-add", maybeReadOnly(rng, d, 0.3));
}
