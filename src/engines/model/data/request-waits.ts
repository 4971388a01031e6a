/**
 * Which nodes answer a request later rather than in the coroutine that made it: file-posix,
 * host_device and host_cdrom submit to the thread pool, NBD talks to its server, null-aio completes
 * in a bottom half, and null-co sleeps only with latency-ns. Every other driver answers from what
 * its children answer, or from memory (a table in a cache, zeros where nothing is allocated).
 */
import type { BdsNode } from "../graph.js";

export function completesLater(node: BdsNode): boolean {
  switch (node.driver.name) {
    case "file":
    case "host_device":
    case "host_cdrom":
    case "nbd":
    case "null-aio":
      return true;
    case "null-co": {
      const latency = node.options["latency-ns"];
      return (typeof latency === "number" || typeof latency === "bigint") && BigInt(latency) > 0n;
    }
    default:
      return false;
  }
}

/**
 * Whether a read of `bs` may wait: some node below it answers later. For where the model does not
 * follow the read itself (a qcow2 L2 table its cache loads again).
 */
export function readMayWait(bs: BdsNode): boolean {
  const seen = new Set<BdsNode>();
  const stack = [bs];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (seen.has(node)) continue;
    seen.add(node);
    if (completesLater(node)) return true;
    for (const c of node.children) stack.push(c.bs);
  }
  return false;
}
