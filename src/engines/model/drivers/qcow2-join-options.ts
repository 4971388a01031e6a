/**
 * `qcow2_join_options`, qcow2's `.bdrv_join_options`: how a reopen that keeps old options (qemu-io's
 * `reopen`, an entry given twice, an inline child kept by reference) merges them with the new ones.
 */
import type { Flat } from "../graph.js";
import { qdictJoin } from "../options.js";
import { OVERLAP_BOOL_OPTS } from "./qcow2-options.js";

/** The overlap options a new template drops from the old ones (7.2 leaves bitmap-directory alone). */
const OVERLAP_OPTS = ["overlap-check", "overlap-check.template", ...OVERLAP_BOOL_OPTS.filter((k) => k !== "overlap-check.bitmap-directory")];

/** Merge `old` (a clone: it may be changed) into `options`. */
export function qcow2JoinOptions(options: Flat, old: Flat): void {
  const newTemplate = "overlap-check" in options || "overlap-check.template" in options;
  const newTotalCacheSize = "cache-size" in options;
  // A new overlap template overrides every old overlap option.
  if (newTemplate) for (const key of OVERLAP_OPTS) delete old[key];
  // A new total cache size overrides the old split.
  if (newTotalCacheSize) {
    delete old["l2-cache-size"];
    delete old["refcount-cache-size"];
  }
  qdictJoin(options, old);
  // QEMU drops an old total size once any cache size is set after the merge (its "all" is an "or").
  const anyCacheOption = "cache-size" in options || "l2-cache-size" in options || "refcount-cache-size" in options;
  if (anyCacheOption && !newTotalCacheSize) delete options["cache-size"];
}
