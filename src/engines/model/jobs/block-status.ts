/**
 * `bdrv_is_allocated_above` (block/io.c) for a model without guest data, as a coroutine_fn. Every
 * image the model makes is empty, so a format node with backing support (qcow2) has nothing
 * allocated and defers to the layer below; a filter answers as its child does; any other node
 * (raw, file, null-co…) is data all through, so it counts as allocated. A layer shorter than the
 * offset reads as zeros that count as allocated there (as QEMU synthesizes them past a short
 * backing file).
 *
 * That decides a job's chunking: an unallocated chunk is not copied, so it costs no rate limit
 * delay, and the job moves on by the whole chunk. Asking a qcow2 node for the first time reads its
 * refcount blocks from the image (`qcow2_detect_metadata_preallocation`), and the coroutine waits
 * for that read (see Job.ioWait): a job's first look at an image ends its turn.
 */
import { filterOrCowBs } from "../chain.js";
import { type BdsNode, filteredChild } from "../graph.js";
import { nodeLength } from "../node-length.js";
import type { Coroutine } from "./coroutine.js";

/** Who waits for the model's I/O: the job's coroutine. */
export interface IoWaiter {
  ioWait(): Coroutine;
}

/** `bdrv_co_block_status` of one layer: whether it holds the data itself (filters ask their child). */
function* layerAllocated(io: IoWaiter, layer: BdsNode): Coroutine<boolean> {
  let n = layer;
  for (let f = filteredChild(n); f; f = filteredChild(n)) n = f.bs;
  if (n.driver.firstBlockStatusReadsMetadata?.(n)) yield* io.ioWait();
  return !n.driver.supportsBacking;
}

/**
 * Whether [offset, offset + bytes) of `top` is allocated in `top` or any layer down to `base`
 * (`base` itself included when `includeBase`), and for how many bytes that answer holds.
 */
export function* isAllocatedAbove(
  io: IoWaiter,
  top: BdsNode,
  base: BdsNode | null,
  includeBase: boolean,
  offset: number,
  bytes: number,
): Coroutine<{ allocated: boolean; n: number }> {
  if (!includeBase && top === base) return { allocated: false, n: bytes };
  const topLen = nodeLength(top);
  if (offset >= topLen) return { allocated: false, n: 0 };
  const n = Math.min(bytes, topLen - offset);
  const topAllocated = yield* layerAllocated(io, top);
  if (topAllocated || top === base) return { allocated: topAllocated, n };
  for (let p = filterOrCowBs(top); p && (includeBase || p !== base); p = filterOrCowBs(p)) {
    if (offset >= nodeLength(p) || (yield* layerAllocated(io, p))) return { allocated: true, n };
    if (p === base) break;
  }
  return { allocated: false, n };
}
