/**
 * Allocation status as a job asks it, as coroutine_fns: `bdrv_is_allocated_above` (stream, commit,
 * mirror's dirty bitmap for sync=top) and `bdrv_block_status_above` (mirror's copy method). The
 * answers come from the data path (data/block-status.ts, each driver's `blockStatus` hook): a
 * qcow2 answers from its L2 tables, a null-co without read-zeroes holds nothing, a file or raw
 * node is data all through.
 *
 * A qcow2 node asked for the first time reads its refcount blocks from the image
 * (`qcow2_detect_metadata_preallocation`) and the coroutine waits for that read (see Job.ioWait):
 * a job's first look at an image ends its turn. The walk asks the layers from the top down to the
 * one that decides, so those are the ones that may wait.
 */
import { filterOrCowBs } from "../chain.js";
import type { DriverHost } from "../drivers/driver.js";
import { type BdsNode, filteredChild } from "../graph.js";
import { blockStatusAbove } from "../data/block-status.js";
import { BDRV_BLOCK_ALLOCATED, BDRV_BLOCK_DATA, BDRV_BLOCK_ZERO } from "../data/request-flags.js";
import type { Coroutine } from "./coroutine.js";

/** Who waits for the model's I/O: the job's coroutine, and the block layer it reads through. */
export interface IoWaiter {
  readonly state: DriverHost;
  ioWait(): Coroutine;
}

/** The node under a layer's filters: the one whose driver answers for it. */
function underFilters(layer: BdsNode): BdsNode {
  let n = layer;
  for (let f = filteredChild(n); f; f = filteredChild(n)) n = f.bs;
  return n;
}

/** Wait for the first metadata read of each layer the walk from `top` asks, down to `depth` (0: all). */
function* firstLooks(io: IoWaiter, top: BdsNode, base: BdsNode | null, includeBase: boolean, depth: number): Coroutine {
  let d = 0;
  for (let p: BdsNode | null = top; p && (includeBase || p !== base); p = filterOrCowBs(p)) {
    const n = underFilters(p);
    if (n.driver.firstBlockStatusReadsMetadata?.(n)) yield* io.ioWait();
    if (++d === depth || p === base) break;
  }
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
  const r = blockStatusAbove(io.state, top, base, includeBase, false, offset, bytes);
  const allocated = (r.status & BDRV_BLOCK_ALLOCATED) !== 0;
  yield* firstLooks(io, top, base, includeBase, allocated ? r.depth : 0);
  return { allocated, n: r.pnum };
}

/**
 * `bdrv_block_status_above(bs, NULL)` as mirror_iteration asks it: data, zeros, for how many bytes,
 * and whether reading that data means reading a host file (a request to the thread pool, which
 * completes later) rather than answering at once (zeros, null-co).
 */
export function* blockStatusData(
  io: IoWaiter,
  top: BdsNode,
  offset: number,
  bytes: number,
): Coroutine<{ data: boolean; zero: boolean; n: number; inHostFile: boolean }> {
  const r = blockStatusAbove(io.state, top, null, false, true, offset, bytes);
  yield* firstLooks(io, top, null, false, r.status & BDRV_BLOCK_ALLOCATED ? r.depth : 0);
  const data = (r.status & BDRV_BLOCK_DATA) !== 0;
  return { data, zero: (r.status & BDRV_BLOCK_ZERO) !== 0, n: r.pnum, inHostFile: data && r.file?.driver.readsInThreadPool === true };
}
