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

/**
 * Whether a comparing driver's verdict (blkverify's or quorum's exit(1)) on a job's read comes after
 * the command that started the job has answered, given how many of the compared reads reached a
 * node that answers later. One such read is back from the thread pool before the main loop's next
 * turn, which runs its completion before the monitor sends the reply; with two or more, the reply
 * goes first (QEMU 7.2.22: one read, 16 runs of 18 before the reply; two, 15 of 16 after).
 */
export function verdictAfterReply(laterReads: number): boolean {
  return laterReads >= 2;
}
