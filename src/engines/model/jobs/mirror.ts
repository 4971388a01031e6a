/**
 * The mirror job (block/mirror.c) and the active commit built on it. `mirror_start_job` puts a
 * mirror_top filter above the source (implicit unless `filter-node-name` names it), makes the job
 * on that filter ("main node"), a BlockBackend writing the target, and takes "source" and "target"
 * (for an active commit also every "intermediate node" down to the base, with those links
 * frozen). The job copies until it is READY and stays so until block-job-complete, which makes the
 * target replace the source (or the `replaces` node) in the graph; then the filter leaves.
 */
import { blkInsertBs, blkNew, blkUnref } from "../block-backend.js";
import { backingChainNext, chainContains, cowBs, filterOrCowBs, filterBs, findOverlay, freezeBackingChain, skipFilters, unfreezeBackingChain } from "../chain.js";
import { bdrvDrainedBegin, bdrvDrainedEnd, withDrained } from "../drain.js";
import { bdrvPdiscard, bdrvPwritev, blkPwriteZeroes } from "../data/block-io.js";
import type { Data } from "../data/data.js";
import { mirrorTopDriver, mirrorTopState, type MirrorMethod, type MirrorTopJob } from "../drivers/mirror-top.js";
import type { BdsNode, BlockBackend } from "../graph.js";
import { bdrvRef, bdrvUnref, nextGraphSeq } from "../graph-ops.js";
import { bdrvAppend, replaceNode } from "../graph-replace.js";
import type { LayerState } from "../layer-state.js";
import { nodeLength, totalSectorsLength } from "../node-length.js";
import { NodeOpener } from "../open-node.js";
import { refreshPerms } from "../perm-refresh.js";
import { BLK_PERM_ALL, BLK_PERM_CONSISTENT_READ, BLK_PERM_RESIZE, BLK_PERM_WRITE, BLK_PERM_WRITE_UNCHANGED } from "../perms.js";
import { QemuHang } from "../qemu-would-hang.js";
import { fail, QmpFailure } from "../qmp-failure.js";
import { bdrvGetInfo } from "../query/named-nodes.js";
import { reopenSetReadOnly, reopenSetReadOnlyQuietly } from "../reopen/set-read-only.js";
import { runInTransaction } from "../transaction.js";
import { setBackingHd } from "../set-backing.js";
import { BLOCK_JOB_DRIVER_DEFAULTS, BlockJob, catchIoError, createBlockJob } from "./block-job.js";
import type { Coroutine } from "./coroutine.js";
import { DirtyBitmap } from "./dirty-bitmap.js";
import type { JobDriver, JobFlags } from "./job.js";
import { jobEarlyFail } from "./job-finish.js";
import { mirrorRun } from "./mirror-run.js";

const EPERM = 1;
const EINVAL = 22;

/** DEFAULT_MIRROR_BUF_SIZE: MAX_IN_FLIGHT × MAX_IO_BYTES. */
const DEFAULT_MIRROR_BUF_SIZE = 16 << 20;

export type MirrorCopyMode = "background" | "write-blocking";

/**
 * BlockMirrorBackingMode: what the target's backing becomes when the job ends well. "source": the
 * source's base (sync=none: the source); "open": the one its image header names; "leave": as is.
 * drive-mirror makes its target one of the first two, blockdev-mirror and commit leave it.
 */
export type MirrorBackingMode = "source" | "open" | "leave";

/** MirrorBlockJob. */
export class MirrorJob extends BlockJob implements MirrorTopJob {
  target: BlockBackend | null = null;
  mirrorTopBs!: BdsNode;
  base: BdsNode | null = null;
  baseOverlay: BdsNode | null = null;
  replaces: string | null = null;
  toReplace: BdsNode | null = null;
  isNoneMode = false;
  backingMode: MirrorBackingMode = "leave";
  zeroTarget = false;
  /** s->unmap: zeros written to the target may be unmapped (blockdev-mirror's `unmap`, default on). */
  unmap = true;
  copyMode: MirrorCopyMode = "background";
  activelySynced = false;
  shouldComplete = false;
  granularity = 0;
  bufSize = 0;
  bdevLength = 0;
  dirty!: DirtyBitmap;
  /** Where the dirty bitmap iterator stands (s->dbi). */
  iterOffset = 0;
  lastPauseNs = 0;
  prepared = false;
  inDrain = false;
  /** mirror_run drained the source for the switch-over (mirror_exit_common ends it). */
  sourceDrained = false;
  /** The job wrote to the target since its last flush (the target's write_gen moved on). */
  targetWritten = false;
  /**
   * s->ret, not job->ret: the first error a request reported under the `report` policy. A write
   * that the filter copied to the target sets it outside the job's coroutine, which ends with it at
   * the top of its next turn.
   */
  requestRet = 0;

  /**
   * mirror_run (blockdev-mirror, active commit) is still running when the poll looks: the same
   * blockdev-add aborted qemu-storage-daemon 7.2.22 in 8 of 8 runs over a mirror's target, a
   * rate-limited mirror's and an active commit's, 10 to 12 of 12 over a ready mirror's source or
   * either one's file.
   */
  override get slowToPause(): boolean {
    return true;
  }

  /** `mirror_drained_poll`: a job in its own drain, paused or cancelled issues nothing more (none in flight). */
  protected override drainedPoll(): boolean {
    return !this.paused && !this.isCancelled() && !this.inDrain;
  }

  /** mirror_top_bs->backing->bs. */
  source(): BdsNode {
    return filterOrCowBs(this.mirrorTopBs)!;
  }

  targetBs(): BdsNode {
    return this.target!.root!.bs;
  }

  /** `copy_to_target` of bdrv_mirror_top_do_write. */
  copiesWrites(): boolean {
    return this.requestRet >= 0 && !this.isCancelled() && this.copyMode === "write-blocking";
  }

  /**
   * `do_sync_target_write`: a write that passed through the filter, to the target too. Unaligned
   * ends in chunks the job will copy anyway (dirty) are left to it; the chunks the write covers are
   * clean from then on. A failed target write makes them dirty again and fails the job under the
   * `report` policy, but not the write.
   */
  syncTargetWrite(method: MirrorMethod, offset: number, bytes: number, data: Data | null, flags: number): void {
    const g = this.granularity;
    let skip = 0;
    if (offset % g !== 0 && this.dirty.get(offset)) {
      skip = Math.ceil(offset / g) * g - offset;
      if (bytes <= skip) return;
      offset += skip;
      bytes -= skip;
    }
    if ((offset + bytes) % g !== 0 && this.dirty.get(offset + bytes - 1)) {
      const tail = (offset + bytes) % g;
      if (bytes <= tail) return;
      bytes -= tail;
    }
    const bitmapOffset = Math.ceil(offset / g) * g;
    const bitmapEnd = Math.floor((offset + bytes) / g) * g;
    if (bitmapOffset < bitmapEnd) this.dirty.reset(bitmapOffset, bitmapEnd - bitmapOffset);
    this.progressIncreaseRemaining(bytes);
    const target = this.targetBs();
    const ret = catchIoError(() => {
      if (method === "copy") bdrvPwritev(this.state, target, offset, data!.slice(skip, bytes), flags);
      else if (method === "zero") blkPwriteZeroes(this.state, target, offset, bytes, flags);
      else bdrvPdiscard(this.state, target, offset, bytes);
    });
    if (ret >= 0) {
      this.progressUpdate(bytes);
      return;
    }
    const start = Math.floor(offset / g) * g;
    this.dirty.set(start, Math.min(Math.ceil((offset + bytes) / g) * g, this.dirty.size) - start);
    this.activelySynced = false;
    if (this.errorAction(false, ret) === "report" && !this.requestRet) this.requestRet = ret;
  }

  /** `job_transition_to_ready`: status ready, and BLOCK_JOB_READY. */
  transitionToReady(): void {
    this.transition("ready");
    this.notifiers.ready?.();
  }

  /** `bdrv_can_write_zeroes_with_unmap` of the target: it was opened with discard=unmap and can unmap zeros. */
  targetCanZeroWithUnmap(): boolean {
    const t = this.targetBs();
    return t.unmap && (t.driver.supportsZeroUnmap?.(t) ?? false);
  }

  /** `bdrv_round_to_clusters` of the target leaves [offset, offset + bytes) as it is. */
  alignedToTargetClusters(offset: number, bytes: number): boolean {
    const cluster = bdrvGetInfo(this.targetBs())?.clusterSize || 0;
    if (!cluster) return true;
    return offset % cluster === 0 && (offset + bytes) % cluster === 0;
  }
}

/** `bdrv_release_dirty_bitmap`. */
function releaseDirtyBitmap(bs: BdsNode, bitmap: DirtyBitmap): void {
  const i = bs.dirtyBitmaps?.indexOf(bitmap) ?? -1;
  if (i >= 0) bs.dirtyBitmaps!.splice(i, 1);
}

/**
 * `bdrv_recurse_can_replace`: `bs` is `toReplace`, or its driver says replacing it is safe (quorum,
 * blkverify), or it is a filter above a node where that holds.
 */
export function recurseCanReplace(bs: BdsNode | null, toReplace: BdsNode): boolean {
  if (!bs) return false;
  if (bs === toReplace) return true;
  if (bs.driver.recurseCanReplace) return bs.driver.recurseCanReplace(bs, toReplace, recurseCanReplace);
  return recurseCanReplace(filterBs(bs), toReplace);
}

/**
 * mirror_exit_common takes replace_aio_context while job_prepare_locked holds the job's: when both
 * are one iothread, the main thread holds its lock twice as bdrv_unref(to_replace) runs. If that was
 * the node's last reference, bdrv_close's flush waits for a coroutine in the iothread, and
 * AIO_WAIT_WHILE gives back only one of the two holds: the iothread never runs it.
 */
function closeTwiceHeldHangs(s: MirrorJob, toReplace: BdsNode): void {
  const ctx = s.state.aio.of(toReplace);
  if (ctx.isMain || ctx !== s.aioContext || (toReplace.heldRefs ?? 0) !== 1) return;
  if (toReplace.parents.length > 0 || toReplace.monitorOwned) return;
  throw new QemuHang(`bdrv_close's flush of '${toReplace.name}', which mirror_exit_common frees holding iothread '${ctx.name}''s AioContext lock twice (job_prepare_locked's and replace_aio_context), waits for that iothread for ever`);
}

/** `mirror_exit_common`, for prepare and abort alike. */
function mirrorExitCommon(s: MirrorJob): number {
  if (s.prepared) return 0;
  s.prepared = true;
  const state = s.state;
  const abort = s.ret < 0;
  let ret = 0;
  const mirrorTop = s.mirrorTopBs;
  const src = s.source();
  const targetBs = s.targetBs();
  if (chainContains(src, targetBs)) unfreezeBackingChain(mirrorTop, targetBs);
  releaseDirtyBitmap(src, s.dirty);
  // The source must not go away during the replacement, before its drain ends.
  bdrvRef(src);
  bdrvRef(mirrorTop);
  bdrvRef(targetBs);
  // The target BlockBackend (writing, resizing) goes before the target moves into the graph.
  blkUnref(state, s.target!);
  s.target = null;
  // Nothing reaches the source through the filter any more; it stays drained.
  const topDrained = bdrvDrainedBegin(state, mirrorTop);
  mirrorTopState.get(mirrorTop).stop = true;
  runInTransaction((tran) => refreshPerms(state, [mirrorTop], tran));
  if (!abort && s.backingMode === "source") {
    const backing = s.isNoneMode ? src : s.base;
    const unfilteredTarget = skipFilters(targetBs)!;
    if (cowBs(unfilteredTarget) !== backing) {
      try {
        setBackingHd(state, unfilteredTarget, backing);
      } catch (e) {
        // error_report_err: on QEMU's stderr, not in a reply.
        if (!(e instanceof QmpFailure)) throw e;
        ret = -EPERM;
      }
    }
  } else if (!abort && s.backingMode === "open") {
    // bdrv_open_backing_file of what the target's header names; a failure goes to stderr.
    const unfilteredTarget = skipFilters(targetBs)!;
    try {
      runInTransaction((tran) => new NodeOpener(state, tran).openBackingFromHeader(unfilteredTarget));
    } catch (e) {
      if (!(e instanceof QmpFailure)) throw e;
      ret = -EINVAL;
    }
  }
  if (s.shouldComplete && !abort) {
    const toReplace = s.toReplace ?? src;
    if (toReplace.readOnly !== targetBs.readOnly) reopenSetReadOnlyQuietly(state, targetBs, toReplace.readOnly);
    withDrained(state, targetBs, () => {
      // Not check_to_replace_node: the job's own blocker is on to_replace.
      if (!recurseCanReplace(src, toReplace)) {
        ret = -EPERM;
        return;
      }
      try {
        replaceNode(state, toReplace, targetBs);
      } catch (e) {
        if (!(e instanceof QmpFailure)) throw e;
        ret = -EPERM;
      }
    });
  }
  if (s.toReplace) {
    s.toReplace.extraBlockers = (s.toReplace.extraBlockers ?? []).filter((b) => b.reason !== REPLACE_BLOCKER);
    closeTwiceHeldHangs(s, s.toReplace);
    bdrvUnref(state, s.toReplace);
    s.toReplace = null;
  }
  bdrvUnref(state, targetBs);
  // The job's edges go before the filter leaves, so that the result is valid.
  s.removeAllBdrv();
  replaceNode(state, mirrorTop, filterOrCowBs(mirrorTop)!);
  mirrorTopState.get(mirrorTop).job = null;
  // The source's section was taken by mirror_run (there was a job then).
  if (s.sourceDrained) bdrvDrainedEnd(src);
  s.sourceDrained = false;
  if (topDrained) bdrvDrainedEnd(mirrorTop);
  s.inDrain = false;
  bdrvUnref(state, mirrorTop);
  bdrvUnref(state, src);
  return ret;
}

/** mirror_complete's blocker on the node to replace. */
const REPLACE_BLOCKER = "block device is in use by block-job-complete";

/** `mirror_complete` (block-job-complete). */
function mirrorComplete(s: MirrorJob): void {
  if (!s.isReady()) fail(`The active block job '${s.id}' cannot be completed`);
  if (s.replaces !== null) {
    const node = s.state.findNode(s.replaces) ?? fail(`Node name '${s.replaces}' not found`);
    s.toReplace = node;
    (node.extraBlockers ??= []).push({ reason: REPLACE_BLOCKER, seq: nextGraphSeq() });
    bdrvRef(node);
  }
  s.shouldComplete = true;
  // A paused job is woken when it is resumed.
  if (!s.paused) s.enterCond();
}

/** `mirror_pause`: wait for the requests in flight; the model has none. */
function* mirrorPause(_s: MirrorJob): Coroutine {}

const MIRROR_COMMON = {
  ...BLOCK_JOB_DRIVER_DEFAULTS,
  run: mirrorRun,
  prepare: mirrorExitCommon,
  abort: (s: MirrorJob) => void mirrorExitCommon(s),
  pause: mirrorPause,
  complete: mirrorComplete,
};

const mirrorJobDriver: JobDriver<MirrorJob> = {
  jobType: "mirror",
  ...MIRROR_COMMON,
  // Before READY any cancel is a forced one (bdrv_cancel_in_flight: nothing is in flight).
  cancel: (s, force) => force || !s.isReady(),
};

const commitActiveJobDriver: JobDriver<MirrorJob> = {
  jobType: "commit",
  ...MIRROR_COMMON,
  cancel: (s, force) => force || !s.isReady(),
};

/** What `mirror_start_job` is given. */
interface MirrorStartJob {
  jobId: string | null;
  bs: BdsNode;
  target: BdsNode;
  replaces: string | null;
  flags: JobFlags;
  speed: number;
  granularity: number;
  bufSize: number;
  zeroTarget: boolean;
  unmap?: boolean;
  backingMode?: MirrorBackingMode;
  driver: JobDriver<MirrorJob>;
  isNoneMode: boolean;
  base: BdsNode | null;
  filterNodeName: string | null;
  copyMode: MirrorCopyMode;
}

/** `bdrv_get_default_bitmap_granularity`: the target's cluster size within [4 KiB, 64 KiB]. */
function defaultGranularity(target: BdsNode): number {
  const cluster = bdrvGetInfo(target)?.clusterSize ?? 0;
  return cluster > 0 ? Math.min(65536, Math.max(4096, cluster)) : 65536;
}

/** `mirror_start_job`. Throws QmpFailure with the graph as it was. */
function mirrorStartJob(state: LayerState, req: MirrorStartJob): MirrorJob {
  const { bs, target } = req;
  const granularity = req.granularity || defaultGranularity(target);
  if (req.bufSize < 0) fail("Invalid parameter 'buf-size'");
  const bufSize = req.bufSize || DEFAULT_MIRROR_BUF_SIZE;
  if (skipFilters(bs) === skipFilters(target)) fail("Can't mirror node into itself");
  const targetIsBacking = chainContains(bs, target);

  // Read-write, unlike commit_top.
  const mirrorTop = runInTransaction((tran) =>
    new NodeOpener(state, tran).openDriver({ driver: mirrorTopDriver, nodeName: req.filterNodeName, options: {}, readOnly: false }),
  );
  if (req.filterNodeName === null) mirrorTop.implicit = true;
  mirrorTop.neverFreeze = true;
  mirrorTop.size = totalSectorsLength(bs);
  mirrorTopState.set(mirrorTop, { stop: false, isCommit: targetIsBacking, job: null });
  // The reference bdrv_new_open_driver gives its caller, until the job holds the node.
  bdrvRef(mirrorTop);
  let created = true;
  // The command holds the source's context, as it was before the filter may move it.
  const held = state.aio.of(bs);
  try {
    withDrained(state, bs, () => bdrvAppend(state, mirrorTop, bs, held));
  } catch (e) {
    bdrvUnref(state, mirrorTop);
    throw e;
  }

  let s: MirrorJob | undefined;
  try {
    // The source is not to be resized while the job runs.
    s = createBlockJob(state, {
      id: req.jobId,
      make: (id) => new MirrorJob(state, id, req.driver as JobDriver<never>, req.flags),
      bs: mirrorTop,
      perm: BLK_PERM_CONSISTENT_READ,
      shared: BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE_UNCHANGED | BLK_PERM_WRITE,
      speed: req.speed,
    });
    mirrorTopState.get(mirrorTop).job = s;
    bdrvUnref(state, mirrorTop);
    created = false;
    s.mirrorTopBs = mirrorTop;
    // No resize and no consistent read on the target while it is being written; an active commit's
    // target is a backing file in use, which may be read and written by others.
    let targetPerms = BLK_PERM_WRITE;
    let targetShared = BLK_PERM_WRITE_UNCHANGED;
    if (targetIsBacking) {
      if (nodeLength(target) < nodeLength(bs)) targetPerms |= BLK_PERM_RESIZE;
      targetShared |= BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE;
    } else if (chainContains(bs, skipFilters(target))) {
      fail("Cannot mirror to a filter on top of a node in the source's backing chain");
    }
    // In the job's context, which is the filter's: a source the filter moved takes the target along.
    const blk = blkNew(state, targetPerms, targetShared, state.aio.of(mirrorTop));
    s.target = blk.bb;
    blkInsertBs(state, blk, target, held);
    s.replaces = req.replaces;
    s.isNoneMode = req.isNoneMode;
    s.backingMode = req.backingMode ?? "leave";
    s.zeroTarget = req.zeroTarget;
    s.unmap = req.unmap ?? true;
    s.copyMode = req.copyMode;
    s.base = req.base;
    s.baseOverlay = findOverlay(bs, req.base);
    s.granularity = granularity;
    s.bufSize = Math.ceil(bufSize / granularity) * granularity;
    // bdrv_create_dirty_bitmap on the source; a write-blocking mirror copies writes itself.
    s.dirty = new DirtyBitmap(granularity, nodeLength(bs), s.copyMode === "background");
    (bs.dirtyBitmaps ??= []).push(s.dirty);
    s.addBdrv("source", bs, 0, BLK_PERM_WRITE_UNCHANGED | BLK_PERM_WRITE | BLK_PERM_CONSISTENT_READ);
    s.addBdrv("target", target, 0, BLK_PERM_ALL);
    if (targetIsBacking) {
      // Every node between top and base disappears at the end: the job blocks them all.
      const filteredTarget = cowBs(findOverlay(bs, target));
      let iterShared = BLK_PERM_WRITE_UNCHANGED | BLK_PERM_WRITE;
      for (let iter = filterOrCowBs(bs); iter !== target; iter = filterOrCowBs(iter)) {
        if (iter === filteredTarget) iterShared |= BLK_PERM_CONSISTENT_READ;
        s.addBdrv("intermediate node", iter!, 0, iterShared);
      }
      freezeBackingChain(mirrorTop, target);
    }
  } catch (e) {
    // Held until the graph changes below are done.
    if (!created) bdrvRef(mirrorTop);
    if (s) {
      if (s.target) blkUnref(state, s.target);
      if (s.dirty) releaseDirtyBitmap(bs, s.dirty);
      s.target = null;
      jobEarlyFail(s);
    }
    mirrorTopState.get(mirrorTop).stop = true;
    runInTransaction((tran) => refreshPerms(state, [mirrorTop], tran));
    replaceNode(state, mirrorTop, filterOrCowBs(mirrorTop)!);
    bdrvUnref(state, mirrorTop);
    throw e;
  }
  s.start();
  return s;
}

/**
 * What `mirror_start` is given by blockdev-mirror: `mirror_start_job`'s arguments less the ones
 * mirror_start derives (driver, none mode and base come from `sync`). `unmap` is blockdev-mirror's
 * (default on).
 */
export interface MirrorStart extends Omit<MirrorStartJob, "driver" | "isNoneMode" | "base"> {
  sync: "full" | "top" | "none" | "incremental" | "bitmap";
}

/** `mirror_start`. */
export function mirrorStart(state: LayerState, req: MirrorStart): void {
  if (req.sync === "incremental" || req.sync === "bitmap") fail(`Sync mode '${req.sync}' not supported`);
  mirrorStartJob(state, {
    ...req,
    driver: mirrorJobDriver,
    isNoneMode: req.sync === "none",
    base: req.sync === "top" ? backingChainNext(req.bs) : null,
  });
}

/** What `commit_active_start` is given by block-commit. */
export interface CommitActiveStart {
  jobId: string;
  bs: BdsNode;
  base: BdsNode;
  flags: JobFlags;
  speed: number;
  filterNodeName: string | null;
}

/** `commit_active_start`: a mirror of the active layer into its base; base made writable first. */
export function commitActiveStart(state: LayerState, req: CommitActiveStart): void {
  const baseReadOnly = req.base.readOnly;
  if (baseReadOnly) reopenSetReadOnly(state, req.base, false);
  try {
    mirrorStartJob(state, {
      jobId: req.jobId,
      bs: req.bs,
      target: req.base,
      replaces: null,
      flags: req.flags,
      speed: req.speed,
      granularity: 0,
      bufSize: 0,
      zeroTarget: false,
      driver: commitActiveJobDriver,
      isNoneMode: false,
      base: req.base,
      filterNodeName: req.filterNodeName,
      copyMode: "background",
    });
  } catch (e) {
    if (baseReadOnly) reopenSetReadOnlyQuietly(state, req.base, true);
    throw e;
  }
}
