/** Finding the host file below a node, for drivers that read image headers. */
import { type BdsNode, filteredChild } from "../graph.js";
import { ModelIoUnsupportedError } from "../data/io-error.js";
import type { ReadAtZero } from "./driver.js";

/** A driver's readAtZero, or the default: a filter reads its filtered child, anything else is not followed. */
function readAtZero(node: BdsNode): ReadAtZero {
  if (node.driver.readAtZero) return node.driver.readAtZero(node);
  const filtered = filteredChild(node);
  return filtered ? { node: filtered.bs } : null;
}

/** The nodes hostFileAtZero passes through from `node` (first) down, the host file's own node included when it has one. */
export function nodesAtZero(node: BdsNode): BdsNode[] {
  const out = [node];
  for (let answer = readAtZero(node); answer && "node" in answer; answer = readAtZero(answer.node)) out.push(answer.node);
  return out;
}

/**
 * The host file whose bytes `node` shows unchanged at offset 0 — through filters, window-less raw
 * nodes and qcow2 nodes whose first cluster is unallocated (read from their backing) — or null
 * (zeros, null-co data, a raw window starting elsewhere, or qcow2 data the model does not follow).
 * Bytes QEMU would read but the model cannot place (a quorum vote) throw ModelIoUnsupportedError.
 * A loop, not a recursion: chains are deep.
 */
export function hostFileAtZero(node: BdsNode): string | null {
  let answer = readAtZero(node);
  while (answer && "node" in answer) answer = readAtZero(answer.node);
  if (answer && "unsupported" in answer) throw new ModelIoUnsupportedError(answer.unsupported);
  return answer ? answer.hostFile : null;
}
