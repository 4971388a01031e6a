/** What the filter drivers share: one FILTERED|PRIMARY `file` child, whose size the filter shows. */
import { bdrvDefaultPerms } from "../child-perms.js";
import { type BdsNode, type Child, filteredChild } from "../graph.js";
import { nodeLength } from "../node-length.js";
import { BDRV_CHILD_FILTERED, BDRV_CHILD_PRIMARY } from "../roles.js";
import type { OpenContext } from "./driver.js";

/** The DriverDef fields every filter here has in common (spread first, then override). */
export const FILTER_DEFAULTS = {
  protocol: false,
  isFilter: true,
  supportsBacking: false,
  mutableOpts: [] as readonly string[],
  childPerm: bdrvDefaultPerms,
} as const;

/** `.bdrv_getlength` of the filters with has_variable_length (copy-on-read, compress, preallocate). */
export function filteredLength(node: BdsNode, length: (n: BdsNode) => number): number {
  const file = filteredChild(node);
  return file ? length(file.bs) : node.size;
}

/** Open and attach the filtered `file` child; the filter's size is its child's. */
export function openFilteredFile(ctx: OpenContext): Child {
  const file = ctx.openChild("file", BDRV_CHILD_FILTERED | BDRV_CHILD_PRIMARY, false)!;
  ctx.node.size = nodeLength(file.bs);
  return file;
}
