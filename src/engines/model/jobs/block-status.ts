/**
 * Allocation status as a job asks it, as coroutine_fns: `bdrv_is_allocated_above` (stream, commit,
 * mirror's dirty bitmap for sync=top) and `bdrv_block_status_above` (mirror's copy method). The
 * answers come from the data path (data/block-status.ts, each driver's `blockStatus` hook): a
 * qcow2 answers from its L2 tables, a null-co without read-zeroes holds nothing, a file or raw
 * node is data all through.
 *
 * A qcow2 node asked for the first time reads its refcount blocks from the image
 * (`qcow2_detect_metadata_preallocation`) and the coroutine waits for that read (see Job.ioWait):
 * a job's first look at an image ends its turn, unless the blocks were in the cache already. Each
 * layer whose block status read metadata during the walk waits once, from the top down.
 */
import { filterOrCowBs } from "../chain.js";
import type { DriverHost } from "../drivers/driver.js";
import { type BdsNode, filteredChild } from "../graph.js";
import { blockStatusAbove } from "../data/block-status.js";
import { IoError } from "../data/io-error.js";
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

/** The layers a walk from `top` may ask, each with the metadata reads its block status has made so far. */
function metadataReads(top: BdsNode, base: BdsNode | null, includeBase: boolean): Array<[BdsNode, number]> {
  const layers: Array<[BdsNode, number]> = [];
  for (let p: BdsNode | null = top; p && (includeBase || p !== base); p = filterOrCowBs(p)) {
    const n = underFilters(p);
    layers.push([n, n.driver.blockStatusMetadataReads?.(n) ?? 0]);
    if (p === base) break;
  }
  return layers;
}

/** Wait once for each layer whose block status read metadata since `before`. */
function* firstLooks(io: IoWaiter, before: Array<[BdsNode, number]>): Coroutine {
  for (const [n, reads] of before) {
    if ((n.driver.blockStatusMetadataReads?.(n) ?? 0) > reads) yield* io.ioWait();
  }
}

/** `bdrv_block_status_above`'s answer, or its failure (`ret` < 0, nothing counted, as QEMU's `*pnum = 0`). */
function statusOrError(run: () => { status: number; pnum: number; file?: BdsNode | null }): { status: number; pnum: number; file?: BdsNode | null; ret: number } {
  try {
    return { ...run(), ret: 0 };
  } catch (e) {
    if (!(e instanceof IoError)) throw e;
    return { status: 0, pnum: 0, ret: -e.errno };
  }
}

/**
 * Whether [offset, offset + bytes) of `top` is allocated in `top` or any layer down to `base`
 * (`base` itself included when `includeBase`), and for how many bytes that answer holds; `ret` is
 * the failure's `-errno` (a metadata read that failed), else 0.
 */
export function* isAllocatedAbove(
  io: IoWaiter,
  top: BdsNode,
  base: BdsNode | null,
  includeBase: boolean,
  offset: number,
  bytes: number,
): Coroutine<{ allocated: boolean; n: number; ret: number }> {
  if (!includeBase && top === base) return { allocated: false, n: bytes, ret: 0 };
  const before = metadataReads(top, base, includeBase);
  const r = statusOrError(() => blockStatusAbove(io.state, top, base, includeBase, false, offset, bytes));
  yield* firstLooks(io, before);
  return { allocated: (r.status & BDRV_BLOCK_ALLOCATED) !== 0, n: r.pnum, ret: r.ret };
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
): Coroutine<{ data: boolean; zero: boolean; n: number; inHostFile: boolean; ret: number }> {
  const before = metadataReads(top, null, false);
  const r = statusOrError(() => blockStatusAbove(io.state, top, null, false, true, offset, bytes));
  yield* firstLooks(io, before);
  const data = (r.status & BDRV_BLOCK_DATA) !== 0;
  return { data, zero: (r.status & BDRV_BLOCK_ZERO) !== 0, n: r.pnum, inHostFile: data && r.file?.driver.readsInThreadPool === true, ret: r.ret };
}
