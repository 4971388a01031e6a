/**
 * `bdrv_has_zero_init` (block.c): whether a node reads as zeros right after it was created, which
 * decides whether drive-mirror's sync=full writes zeros over a target it made.
 */
import { cowChild, filterBs } from "./chain.js";
import type { BdsNode } from "./graph.js";
import { ModelUnsupportedError } from "./model-unsupported.js";

/** Drivers whose `.bdrv_has_zero_init` reads state the model does not keep. */
const UNMODELLED = new Set(["vhdx", "vmdk", "vpc", "nfs", "ssh", "rbd"]);

export function hasZeroInit(bs: BdsNode): boolean {
  if (bs.ejected) return false;
  // A copy-on-write image starts as its backing file's contents.
  if (cowChild(bs)) return false;
  if (bs.driver.hasZeroInit) return bs.driver.hasZeroInit(bs, hasZeroInit);
  if (UNMODELLED.has(bs.driver.name)) throw new ModelUnsupportedError(`bdrv_has_zero_init of a ${bs.driver.name} node`);
  const filtered = filterBs(bs);
  return filtered ? hasZeroInit(filtered) : false;
}
