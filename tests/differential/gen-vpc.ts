/**
 * vpc for the differential generator: a dynamic, a fixed and a force_size image, and blockdev-add of
 * vpc nodes over them — and sometimes over a file that is no VHD image, or with an option vpc has not.
 */
import type { Prng } from "../../src/fuzz/prng.js";
import { formatNodeStart, maybeReadOnly } from "./gen-add.js";
import type { GenState, LiveView } from "./gen-state.js";
import { qmp, type ImageStep, type QmpStep } from "./steps.js";

/** The vpc images every generated sequence starts with. */
export const VPC_IMAGE_STEPS: readonly ImageStep[] = [
  { kind: "image", spec: { path: "dyn.vpc", format: "vpc", size: 3 << 20 } },
  { kind: "image", spec: { path: "fixed.vpc", format: "vpc", size: 1 << 20, createOptions: [["subformat", "fixed"]] } },
  { kind: "image", spec: { path: "forced.vpc", format: "vpc", size: 1 << 20, createOptions: [["force_size", "on"]] } },
];

export const VPC_IMAGES = VPC_IMAGE_STEPS.map((s) => s.spec.path);

/** blockdev-add of a vpc node. */
export function vpcNode(rng: Prng, state: GenState, view: LiveView): QmpStep {
  const d = formatNodeStart(rng, state, view, "vpc", VPC_IMAGES, "vpc");
  if (rng.chance(0.03)) d.backing = null;
  return qmp("blockdev-add", maybeReadOnly(rng, d, 0.3));
}
