/** Finding the host file below a node, for drivers that read image headers. */
import type { BdsNode } from "../graph.js";
import { childNamed } from "../graph.js";
import { fileState, type FileState } from "./file.js";

/**
 * The file node whose bytes `node` shows unchanged at offset 0 — through filters and window-less raw
 * nodes — or null (a qcow2 or null-co node shows guest data, a raw window starts elsewhere).
 */
export function underlyingFile(node: BdsNode): BdsNode | null {
  let n: BdsNode | undefined = node;
  while (n) {
    if (n.driver.name === "file") return n;
    if (n.driver.name === "raw") {
      const offset = n.options["offset"];
      if (typeof offset === "number" && offset !== 0) return null;
    } else if (!n.driver.isFilter) {
      return null;
    }
    n = (childNamed(n, "file") ?? childNamed(n, "image"))?.bs;
  }
  return null;
}

/** The file state below a node, or null. */
export function formatOf(node: BdsNode): FileState | null {
  const f = underlyingFile(node);
  return f ? fileState(f) : null;
}
