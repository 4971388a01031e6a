/**
 * The stream job (block/stream.c): what the backing chain of `bs` holds above a base (or down to
 * and including `bottom`) is copied up into `bs`, then those backing files leave the chain.
 * `stream_start` inserts a copy-on-read filter above `bs` (implicit unless `filter-node-name`
 * names it) whose `bottom` freezes the chain down to the base's overlay; the job runs on the
 * filter, through a BlockBackend on it, and takes `bs` as "active node" and the nodes below it as
 * "intermediate node"s. At the end (`stream_prepare`) the filter goes, `bs` gets the base as its
 * backing file and the base's name in its image header.
 */
import { blkNewWithBs, blkUnref } from "../block-backend.js";
import { cowBs, cowChild, filterBs, filterOrCowBs, findOverlay, freezeBackingChain, skipFilters, unfreezeBackingChain } from "../chain.js";
import { bdrvChangeBackingFile } from "../change-backing.js";
import { bdrvPreadv } from "../data/block-io.js";
import { BDRV_REQ_PREFETCH } from "../data/request-flags.js";
import { bdrvSubtreeDrainedBegin, bdrvSubtreeDrainedEnd, withDrained } from "../drain.js";
import { copyOnReadDriver, corFilterDrop } from "../drivers/copy-on-read.js";
import type { BdsNode, BlockBackend } from "../graph.js";
import { bdrvRef, bdrvUnref } from "../graph-ops.js";
import { bdrvInsertNode } from "../insert-node.js";
import type { LayerState } from "../layer-state.js";
import { nodeLength } from "../node-length.js";
import { BLK_PERM_ALL, BLK_PERM_CONSISTENT_READ, BLK_PERM_WRITE, BLK_PERM_WRITE_UNCHANGED } from "../perms.js";
import { fail, QmpFailure } from "../qmp-failure.js";
import { FilenameCache } from "../query/filename.js";
import { reopenSetReadOnly, reopenSetReadOnlyQuietly } from "../reopen/set-read-only.js";
import { setBackingHd } from "../set-backing.js";
import { runInTransaction } from "../transaction.js";
import { isAllocatedAbove } from "./block-status.js";
import { BLOCK_JOB_DRIVER_DEFAULTS, BlockJob, catchIoError, createBlockJob } from "./block-job.js";
import type { Coroutine } from "./coroutine.js";
import type { JobDriver, JobFlags } from "./job.js";
import { jobEarlyFail } from "./job-finish.js";

/** STREAM_CHUNK. */
const STREAM_CHUNK = 512 * 1024;
const EPERM = 1;

/** StreamBlockJob. */
export class StreamJob extends BlockJob {
  blk: BlockBackend | null = null;
  /** The COW overlay streamed from (the lowest node whose data is copied up). */
  baseOverlay!: BdsNode;
  /** The node directly above the base. */
  aboveBase!: BdsNode;
  corFilterBs: BdsNode | null = null;
  targetBs!: BdsNode;
  backingFileStr: string | null = null;
  bsReadOnly = false;
}

/**
 * `stream_run`: chunk by chunk, copy up what the chain below holds. A failed chunk stopped by the
 * error policy is tried again once the job is resumed; one ignored is passed over, and the job
 * still fails with the first such error at the end, keeping its backing file.
 */
function* streamRun(s: StreamJob): Coroutine<number> {
  const unfiltered = skipFilters(s.targetBs)!;
  // Nothing to stream.
  if (unfiltered === s.baseOverlay) return 0;
  const len = nodeLength(s.targetBs);
  s.progressSetRemaining(len);
  let delayNs = 0;
  let n = 0;
  let error = 0;
  for (let offset = 0; offset < len; offset += n) {
    yield* s.sleepNs(delayNs);
    if (s.isCancelled()) break;
    let copy = false;
    const own = yield* isAllocatedAbove(s, unfiltered, unfiltered, true, offset, STREAM_CHUNK);
    n = own.n;
    let ret = own.ret;
    if (ret >= 0 && !own.allocated) {
      // Copy if it is allocated in the intermediate images, within what top leaves unallocated.
      const below = yield* isAllocatedAbove(s, cowBs(unfiltered)!, s.baseOverlay, true, offset, n);
      n = below.n;
      ret = below.ret;
      // Finish early at the end of the backing file.
      if (ret >= 0 && !below.allocated && n === 0) n = len - offset;
      copy = ret >= 0 && below.allocated;
    }
    if (copy) ret = streamPopulate(s, offset, n);
    // A failed block status (nothing counted) takes the error action as a failed copy does.
    if (ret < 0) {
      const action = s.errorAction(true, ret);
      if (action === "stop") {
        // The same chunk again, after the same delay as before.
        n = 0;
        continue;
      }
      if (error === 0) error = ret;
      if (action === "report") break;
      yield* s.ignoredAgain(offset);
    }
    s.progressUpdate(n);
    delayNs = copy ? s.ratelimitDelay(n) : 0;
  }
  return error;
}

/**
 * `stream_populate`: a read through the job's BlockBackend on the copy-on-read filter that only
 * prefetches — the filter copies what the chain holds above `bottom` into `bs` as it reads.
 */
function streamPopulate(s: StreamJob, offset: number, bytes: number): number {
  return catchIoError(() => {
    bdrvPreadv(s.state, s.blk!.root!.bs, offset, bytes, BDRV_REQ_PREFETCH);
  });
}

/** `stream_prepare`: the filter goes, then `bs` is linked to the base, in the graph and in its header. */
function streamPrepare(s: StreamJob): number {
  const state = s.state;
  const unfiltered = skipFilters(s.targetBs)!;
  corFilterDrop(state, s.corFilterBs!);
  s.corFilterBs = null;
  const drained = bdrvSubtreeDrainedBegin(state, s.aboveBase);
  let ret = 0;
  try {
    const base = filterOrCowBs(s.aboveBase);
    if (base) bdrvRef(base);
    const unfilteredBase = skipFilters(base);
    if (cowChild(unfiltered)) {
      let baseId: string | null = null;
      let baseFmt: string | null = null;
      if (unfilteredBase) {
        baseId = s.backingFileStr ?? new FilenameCache().filename(unfilteredBase);
        baseFmt = unfilteredBase.driver.name;
      }
      let failed = false;
      try {
        setBackingHd(state, unfiltered, base);
      } catch (e) {
        if (!(e instanceof QmpFailure)) throw e;
        failed = true;
      }
      ret = bdrvChangeBackingFile(unfiltered, baseId, baseFmt, false);
      // The graph change failing is what counts (QEMU prints it).
      if (failed) ret = -EPERM;
    }
    if (base) bdrvUnref(state, base);
  } finally {
    if (drained) bdrvSubtreeDrainedEnd(s.aboveBase);
  }
  return ret;
}

/** `stream_clean`: the filter (if still there) and the BlockBackend go; `bs` read-only again if it was. */
function streamClean(s: StreamJob): void {
  if (s.corFilterBs) corFilterDrop(s.state, s.corFilterBs);
  s.corFilterBs = null;
  if (s.blk) blkUnref(s.state, s.blk);
  s.blk = null;
  if (s.bsReadOnly) reopenSetReadOnlyQuietly(s.state, s.targetBs, true);
}

const streamJobDriver: JobDriver<StreamJob> = {
  jobType: "stream",
  ...BLOCK_JOB_DRIVER_DEFAULTS,
  run: streamRun,
  prepare: streamPrepare,
  clean: streamClean,
};

/** What `stream_start` is given by qmp_block_stream (`base` and `bottom` exclusive). */
export interface StreamStart {
  jobId: string | null;
  bs: BdsNode;
  base: BdsNode | null;
  backingFile: string | null;
  bottom: BdsNode | null;
  flags: JobFlags;
  speed: number;
  filterNodeName: string | null;
}

/** `stream_start`. Throws QmpFailure with everything undone. */
export function streamStart(state: LayerState, req: StreamStart): void {
  const { bs, bottom } = req;
  let baseOverlay: BdsNode;
  let aboveBase: BdsNode;
  const basicFlags = BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE_UNCHANGED;
  if (bottom) {
    // The simple interface: bottom is the lowest node streamed from (a format node).
    baseOverlay = aboveBase = bottom;
  } else {
    const overlay = findOverlay(bs, req.base);
    if (!overlay) fail(`'${req.base!.name}' is not in the backing chain of '${bs.name}'`);
    baseOverlay = overlay;
    // Between base_overlay and base there can only be filters.
    aboveBase = baseOverlay;
    if (cowBs(aboveBase) !== req.base) {
      aboveBase = cowBs(aboveBase)!;
      while (filterBs(aboveBase) !== req.base) aboveBase = filterBs(aboveBase)!;
    }
  }

  // The image is written: opened read-write for the job (the chain held meanwhile).
  const bsReadOnly = bs.readOnly;
  if (bsReadOnly) {
    freezeBackingChain(bs, aboveBase);
    try {
      reopenSetReadOnly(state, bs, false);
    } finally {
      // Failure, or the filter will hold the chain.
      unfreezeBackingChain(bs, aboveBase);
    }
  }

  let cor: BdsNode | null = null;
  let s: StreamJob | undefined;
  try {
    const options: Record<string, unknown> = { driver: "copy-on-read", file: bs.name, bottom: baseOverlay.name };
    if (req.filterNodeName !== null) options["node-name"] = req.filterNodeName;
    cor = bdrvInsertNode(state, bs, copyOnReadDriver, options, req.filterNodeName);
    if (req.filterNodeName === null) cor.implicit = true;
    const corBs = cor;
    s = createBlockJob(state, {
      id: req.jobId,
      make: (id) => new StreamJob(state, id, streamJobDriver as JobDriver<never>, req.flags),
      bs: corBs,
      perm: 0,
      shared: BLK_PERM_ALL,
      speed: req.speed,
    });
    s.blk = blkNewWithBs(state, cor, BLK_PERM_CONSISTENT_READ, basicFlags | BLK_PERM_WRITE);
    // No other graph changes here, and no resize: the length is read once, at the start.
    s.addBdrv("active node", bs, 0, basicFlags | BLK_PERM_WRITE);
    // The nodes between bs and base leave the chain: no writes or resizes (each block is read once).
    const base = filterOrCowBs(aboveBase);
    for (let iter = filterOrCowBs(bs); iter !== base; iter = filterOrCowBs(iter)) {
      s.addBdrv("intermediate node", iter!, 0, basicFlags);
    }
    s.baseOverlay = baseOverlay;
    s.aboveBase = aboveBase;
    s.backingFileStr = req.backingFile;
    s.corFilterBs = cor;
    s.targetBs = bs;
    s.bsReadOnly = bsReadOnly;
  } catch (e) {
    if (s) jobEarlyFail(s);
    if (cor) corFilterDrop(state, cor);
    if (bsReadOnly) reopenSetReadOnlyQuietly(state, bs, true);
    throw e;
  }
  s.start();
}
