/**
 * blkverify's two requests as QEMU interleaves them, against the model's one after the other
 * (data/blkverify-io.ts): where that changes what lands in a host file.
 */
import { type BdsNode, filteredChild } from "../graph.js";
import type { ReadAtZero } from "./driver.js";

/**
 * QEMU runs the two requests as coroutines, test first, each going on while the other waits for
 * I/O; the model runs one after the other. That gives the same bytes unless both reach one host
 * file and one of them writes metadata there: two qcow2 nodes over one image each allocate from
 * the refcounts they read, which the other may have written in between, or not. The shared file,
 * then, else undefined.
 */
export function interleavedFile(test: BdsNode, raw: BdsNode): string | undefined {
  const below = hostFilesBelow(raw);
  const shared = [...hostFilesBelow(test)].find((f) => below.has(f));
  if (shared === undefined) return undefined;
  const plain = [plainHostFile(test), plainHostFile(raw)];
  return plain[0] === shared && plain[1] === shared ? undefined : shared;
}

/** Every host file in the subtree of `node`. */
function hostFilesBelow(node: BdsNode): Set<string> {
  const out = new Set<string>();
  const seen = new Set<BdsNode>();
  const stack = [node];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    const at = n.driver.name === "file" ? n.driver.readAtZero?.(n) : undefined;
    if (at && "hostFile" in at) out.add(at.hostFile);
    for (const c of n.children) stack.push(c.bs);
  }
  return out;
}

/** The host file `node` writes to as it is, through window-less raw nodes and plain filters; else null. */
function plainHostFile(node: BdsNode): string | null {
  for (let n: BdsNode | undefined = node; n; ) {
    if (n.driver.name === "file") {
      const at = n.driver.name === "file" ? n.driver.readAtZero?.(n) : undefined;
      return at && "hostFile" in at ? at.hostFile : null;
    }
    if (!PLAIN.has(n.driver.name)) return null;
    const next: ReadAtZero = n.driver.readAtZero ? n.driver.readAtZero(n) : { node: filteredChild(n)!.bs };
    n = next && "node" in next ? next.node : undefined;
  }
  return null;
}

/** Drivers that pass a write to their one child as it is, at the same offset (raw: without a window). */
const PLAIN = new Set(["raw", "throttle", "copy-on-read", "blkdebug"]);
