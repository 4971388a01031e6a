/** What the filter drivers share: one FILTERED|PRIMARY `file` child, whose size the filter shows. */
import type { BdsNode, Child } from "../graph.js";
import { ROLE_FILTERED, ROLE_PRIMARY } from "../roles.js";
import { nodeLength } from "../node-length.js";
import type { OpenContext } from "./driver.js";

/** The DriverDef fields every filter here has in common (spread first, then override). */
export const FILTER_DEFAULTS = {
  protocol: false,
  isFilter: true,
  isFormat: false,
  supportsBacking: false,
  mutableOpts: [] as readonly string[],
  reopenOpts: [] as readonly string[],
} as const;

/** `.bdrv_getlength` of the filters with has_variable_length (copy-on-read, compress, preallocate). */
export function filteredLength(node: BdsNode, length: (n: BdsNode) => number): number {
  const file = node.children.find((c) => c.name === "file");
  return file ? length(file.bs) : node.size;
}

/** Open and attach the filtered `file` child; the filter's size is its child's. */
export function openFilteredFile(ctx: OpenContext): Child {
  const file = ctx.openChild("file", ROLE_FILTERED | ROLE_PRIMARY, false)!;
  ctx.node.size = nodeLength(file.bs);
  return file;
}
