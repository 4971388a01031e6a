/** Finding the host file below a node, for drivers that read image headers. */
import type { BdsNode } from "../graph.js";
import { childNamed } from "../graph.js";
import type { Qcow2Header } from "../images/read-image.js";
import { fileState, type FileState } from "./file.js";

/**
 * The file node whose bytes `node` shows unchanged at offset 0 — through filters, window-less raw
 * nodes and qcow2 nodes whose first cluster is unallocated (read from their backing) — or null
 * (zeros, null-co data, a raw window starting elsewhere, or qcow2 data the model does not follow).
 */
export function underlyingFile(node: BdsNode): BdsNode | null {
  let n: BdsNode | undefined = node;
  while (n) {
    if (n.driver.name === "file") return n;
    if (n.driver.name === "raw") {
      const offset = n.options["offset"];
      if (typeof offset === "number" && offset !== 0) return null;
    } else if (n.driver.name === "qcow2") {
      const header = (n.state as { header?: Qcow2Header }).header;
      if (header?.firstCluster !== "unallocated") return null;
      n = childNamed(n, "backing")?.bs;
      continue;
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
