/**
 * vhdx for the differential generator: a dynamic, a fixed and a 1 MiB-block image, and blockdev-add
 * of vhdx nodes over them — and sometimes over a file that is no VHDX image, or with an option vhdx
 * has not. Writes through vhdx are not modelled: sequences with guest I/O draw none.
 */
import type { Prng } from "../../src/fuzz/prng.js";
import { formatNodeStart, maybeReadOnly } from "./gen-add.js";
import type { GenState, LiveView } from "./gen-state.js";
import { qmp, type ImageStep, type QmpStep } from "./steps.js";

/** The vhdx images every generated sequence starts with. */
export const VHDX_IMAGE_STEPS: readonly ImageStep[] = [
  { kind: "image", spec: { path: "dyn.vhdx", format: "vhdx", size: 3 << 20 } },
  { kind: "image", spec: { path: "fixed.vhdx", format: "vhdx", size: 1 << 20, createOptions: [["subformat", "fixed"]] } },
  { kind: "image", spec: { path: "small.vhdx", format: "vhdx", size: 2 << 20, createOptions: [["block_size", "1M"], ["block_state_zero", "off"]] } },
];

export const VHDX_IMAGES = VHDX_IMAGE_STEPS.map((s) => s.spec.path);

/**
 * A vhdx file's actual-size in a query reply. ext4 sometimes spends a block on an extent tree for
 * qemu-img's write of a large BAT and not for the model's (tests/qemu/vhdx-create.test.ts allows
 * that one block), so that figure is not compared; the bytes of the files are.
 */
export const VHDX_ACTUAL_SIZE = /"filename":"[^"]*\.vhdx",(?:"[a-z-]+":(?:-?\d+|"[^"]*"|true|false),)*"actual-size":\d+/g;

/** blockdev-add of a vhdx node. */
export function vhdxNode(rng: Prng, state: GenState, view: LiveView): QmpStep {
  const d = formatNodeStart(rng, state, view, "vhdx", VHDX_IMAGES, "vhdx");
  if (rng.chance(0.03)) d.backing = null;
  return qmp("blockdev-add", maybeReadOnly(rng, d, 0.3));
}
