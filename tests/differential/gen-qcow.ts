/**
 * qcow (version 1) for the differential generator: images with and without a backing file (qcow
 * stores no backing format: it is probed), and blockdev-add of qcow nodes over them — now and then
 * over a file that is no qcow image (a qcow2 image among them), or without the header's backing file.
 */
import type { Prng } from "../../src/fuzz/prng.js";
import { formatNodeStart, maybeReadOnly } from "./gen-add.js";
import type { GenState, LiveView } from "./gen-state.js";
import { qmp, type ImageStep, type QmpStep } from "./steps.js";

/** The qcow images every generated sequence starts with (their backing files are standard images). */
export const QCOW_IMAGE_STEPS: readonly ImageStep[] = [
  { kind: "image", spec: { path: "plain.qcow", format: "qcow", size: 1 << 20 } },
  { kind: "image", spec: { path: "over-raw.qcow", format: "qcow", size: 2 << 20, backingFile: "raw.img", backingFormat: "raw" } },
  { kind: "image", spec: { path: "over-qcow2.qcow", format: "qcow", size: 1 << 20, backingFile: "base.qcow2", backingFormat: "qcow2" } },
];

export const QCOW_IMAGES = QCOW_IMAGE_STEPS.map((s) => s.spec.path);

/** blockdev-add of a qcow node. */
export function qcowNode(rng: Prng, state: GenState, view: LiveView): QmpStep {
  const d = formatNodeStart(rng, state, view, "qcow", QCOW_IMAGES, "qcow");
  if (rng.chance(0.15)) d.backing = null;
  return qmp("blockdev-add", maybeReadOnly(rng, d, 0.3));
}
