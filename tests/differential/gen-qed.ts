/**
 * qed for the differential generator: images with and without a backing file (raw, recorded as
 * "do not probe", and qcow2, probed), one with small clusters, and blockdev-add of qed nodes over
 * them — now and then over a file that is no qed image, or without the header's backing file.
 */
import type { Prng } from "../../src/fuzz/prng.js";
import { formatNodeStart, maybeReadOnly } from "./gen-add.js";
import type { GenState, LiveView } from "./gen-state.js";
import { qmp, type ImageStep, type QmpStep } from "./steps.js";

/** The qed images every generated sequence starts with (their backing files are standard images). */
export const QED_IMAGE_STEPS: readonly ImageStep[] = [
  { kind: "image", spec: { path: "plain.qed", format: "qed", size: 1 << 20 } },
  { kind: "image", spec: { path: "small.qed", format: "qed", size: 3 << 20, createOptions: [["cluster_size", "4096"], ["table_size", "2"]] } },
  { kind: "image", spec: { path: "over-raw.qed", format: "qed", size: 2 << 20, backingFile: "raw2.img", backingFormat: "raw" } },
  { kind: "image", spec: { path: "over-qcow2.qed", format: "qed", size: 1 << 20, backingFile: "base.qcow2", backingFormat: "qcow2" } },
];

export const QED_IMAGES = QED_IMAGE_STEPS.map((s) => s.spec.path);

/** blockdev-add of a qed node. */
export function qedNode(rng: Prng, state: GenState, view: LiveView): QmpStep {
  const d = formatNodeStart(rng, state, view, "qed", QED_IMAGES, "qed");
  if (rng.chance(0.15)) d.backing = null;
  return qmp("blockdev-add", maybeReadOnly(rng, d, 0.3));
}
