/**
 * parallels for the differential generator: images with the default and with small clusters, and
 * blockdev-add of parallels nodes over them — now and then over a file that is no parallels image,
 * or with a backing option parallels' schema has not.
 *
 * The nodes are read-only: a read-write parallels node marks its image in use when it opens and
 * clean when it closes, and QEMU closes every node when it stops, where the model does not
 * (bdrv_close_all), so the image files the engines leave would differ.
 */
import type { Prng } from "../../src/fuzz/prng.js";
import { formatNodeStart, maybeZeroes } from "./gen-add.js";
import type { GenState, LiveView } from "./gen-state.js";
import { qmp, type ImageStep, type QmpStep } from "./steps.js";

/** The parallels images every generated sequence starts with. */
export const PARALLELS_IMAGE_STEPS: readonly ImageStep[] = [
  { kind: "image", spec: { path: "plain.parallels", format: "parallels", size: 1 << 20 } },
  { kind: "image", spec: { path: "small.parallels", format: "parallels", size: 3 << 20, createOptions: [["cluster_size", "4k"]] } },
];

export const PARALLELS_IMAGES = PARALLELS_IMAGE_STEPS.map((s) => s.spec.path);

/** blockdev-add of a read-only parallels node. */
export function parallelsNode(rng: Prng, state: GenState, view: LiveView): QmpStep {
  const d = formatNodeStart(rng, state, view, "parallels", PARALLELS_IMAGES, "prl");
  d["read-only"] = true;
  if (rng.chance(0.03)) d.backing = null;
  maybeZeroes(rng, d);
  return qmp("blockdev-add", d);
}
