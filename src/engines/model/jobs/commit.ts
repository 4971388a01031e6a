/**
 * The commit job of an intermediate node (block/commit.c): the data of `top` and everything down to
 * `base` goes into `base`, then those nodes leave the chain. `commit_start` puts an implicit
 * commit_top filter above `top`, takes the nodes from top down to base as "intermediate node"s
 * (consistent read unshared, except for filters right above base), freezes the links from the
 * filter down to base, takes "base", and makes two anonymous BlockBackends: one writing base, one
 * on top. At the end (`commit_prepare`) `bdrv_drop_intermediate` links the overlay to base and
 * writes base's name into its header; a failed or cancelled job takes the filter out again.
 */
import { type BlockBackend, type BdsNode } from "../graph.js";
import { blkInsertBs, blkNew, blkUnref } from "../block-backend.js";
import { cowBs, filterOrCowBs, findOverlay, freezeBackingChain, skipFilters, unfreezeBackingChain } from "../chain.js";
import { dropIntermediate } from "../drop-intermediate.js";
import { commitTopDriver } from "../drivers/commit-top.js";
import { bdrvRef, bdrvUnref } from "../graph-ops.js";
import { bdrvAppend, releaseIfUnused, replaceNode } from "../graph-replace.js";
import type { LayerState } from "../layer-state.js";
import { nodeLength, totalSectorsLength } from "../node-length.js";
import { NodeOpener } from "../open-node.js";
import { BLK_PERM_ALL, BLK_PERM_CONSISTENT_READ, BLK_PERM_RESIZE, BLK_PERM_WRITE, BLK_PERM_WRITE_UNCHANGED } from "../perms.js";
import { QemuAbort } from "../qemu-would-crash.js";
import { fail } from "../qmp-failure.js";
import { reopenSetReadOnly, reopenSetReadOnlyQuietly } from "../reopen/set-read-only.js";
import { runInTransaction } from "../transaction.js";
import { bdrvPreadv, bdrvPwritev } from "../data/block-io.js";
import { bdrvTruncate } from "../data/truncate.js";
import { isAllocatedAbove } from "./block-status.js";
import { BLOCK_JOB_DRIVER_DEFAULTS, BlockJob, catchIoError, catchTruncateError, createBlockJob } from "./block-job.js";
import type { Coroutine } from "./coroutine.js";
import type { JobDriver, JobFlags } from "./job.js";
import { jobEarlyFail } from "./job-finish.js";

/** COMMIT_BUFFER_SIZE: the chunk one iteration looks at. */
const COMMIT_BUFFER_SIZE = 512 * 1024;

/** CommitBlockJob. */
export class CommitJob extends BlockJob {
  commitTopBs: BdsNode | null = null;
  /** s->top and s->base: the job's BlockBackends. */
  top: BlockBackend | null = null;
  base: BlockBackend | null = null;
  baseBs: BdsNode | null = null;
  baseOverlay: BdsNode | null = null;
  baseReadOnly = false;
  chainFrozen = false;
  backingFileStr: string | null = null;
}

/** `commit_run`: chunk by chunk, copying what is allocated above base into base. */
function* commitRun(s: CommitJob): Coroutine<number> {
  const topBs = s.top!.root!.bs;
  const baseBs = s.base!.root!.bs;
  const len = nodeLength(topBs);
  s.progressSetRemaining(len);
  // A base smaller than top is grown first (blk_truncate, preallocation off).
  if (nodeLength(baseBs) < len) {
    const ret = catchTruncateError(() => bdrvTruncate(s.state, baseBs, len, false, "off", 0));
    if (ret < 0) return ret;
  }
  let delayNs = 0;
  let n = 0;
  for (let offset = 0; offset < len; offset += n) {
    // Even without a rate limit the job yields here, so that a drain can stop it.
    yield* s.sleepNs(delayNs);
    if (s.isCancelled()) break;
    const status = yield* isAllocatedAbove(s, topBs, s.baseOverlay, true, offset, COMMIT_BUFFER_SIZE);
    n = status.n;
    if (status.ret < 0) {
      // A failed block status is an error in the source; the same chunk again unless reported.
      const action = s.errorAction(true, status.ret);
      if (action === "report") return status.ret;
      if (action === "ignore") yield* s.ignoredAgain(offset);
      n = 0;
      continue;
    }
    if (n === 0) {
      // Past the end of what is below a top whose length outgrew it (a filter whose file a reopen
      // swapped for a shorter node), nothing answers: QEMU's loop goes round at the same offset
      // forever, a zero-delay sleep each time, while the monitor answers. The model sleeps until
      // something enters the job (a drain, a pause, a cancel), then looks again, as QEMU would.
      yield* s.doYield(-1);
      continue;
    }
    if (status.allocated) {
      // commit_populate's blk_co_pread from top, then blk_co_pwrite into base.
      let inSource = true;
      const ret = catchIoError(() => {
        const data = bdrvPreadv(s.state, topBs, offset, n);
        inSource = false;
        bdrvPwritev(s.state, baseBs, offset, data);
      });
      if (ret < 0) {
        const action = s.errorAction(inSource, ret);
        if (action === "report") return ret;
        // Stopped or ignored: the same chunk again (after the user's resume, when stopped).
        if (action === "ignore") yield* s.ignoredAgain(offset);
        n = 0;
        continue;
      }
    }
    s.progressUpdate(n);
    delayNs = status.allocated ? s.ratelimitDelay(n) : 0;
  }
  return 0;
}

/** `commit_prepare`: unfreeze, drop the base BlockBackend, then the intermediate nodes. */
function commitPrepare(s: CommitJob): number {
  unfreezeBackingChain(s.commitTopBs!, s.baseBs);
  s.chainFrozen = false;
  blkUnref(s.state, s.base!);
  s.base = null;
  return dropIntermediate(s.state, s.commitTopBs!, s.baseBs!, s.backingFileStr);
}

/** `commit_abort`: the job's nodes are let go, then the filter leaves the chain. */
function commitAbort(s: CommitJob): void {
  const commitTop = s.commitTopBs!;
  if (commitTop.freed) {
    // bdrv_drop_intermediate moved the filter's parents to base and then failed to update an
    // overlay's backing file name: the filter went with its last parent, and commit_abort reads
    // its freed `backing` (NULL since bdrv_close).
    throw new QemuAbort("SIGSEGV", "commit_abort: commit_top_bs was freed when bdrv_drop_intermediate failed after the graph change");
  }
  if (s.chainFrozen) unfreezeBackingChain(commitTop, s.baseBs);
  const topBs = s.top!.root!.bs;
  // Both stay until the filter is out of the chain.
  bdrvRef(topBs);
  bdrvRef(commitTop);
  if (s.base) blkUnref(s.state, s.base);
  // The blockers on the intermediate nodes go, so that the filter can be replaced.
  s.removeAllBdrv();
  // Last, so that consistent read can be granted (bdrv_replace_node(…, &error_abort)).
  replaceNode(s.state, commitTop, filterOrCowBs(commitTop)!);
  bdrvUnref(s.state, commitTop);
  bdrvUnref(s.state, topBs);
}

/** `commit_clean`: base read-only again if it was, and the top BlockBackend goes. */
function commitClean(s: CommitJob): void {
  if (s.baseReadOnly) reopenSetReadOnlyQuietly(s.state, s.baseBs!, true);
  blkUnref(s.state, s.top!);
}

const commitJobDriver: JobDriver<CommitJob> = {
  jobType: "commit",
  ...BLOCK_JOB_DRIVER_DEFAULTS,
  run: commitRun,
  prepare: commitPrepare,
  abort: commitAbort,
  clean: commitClean,
};

/** What `commit_start` is given by qmp_block_commit. */
export interface CommitStart {
  jobId: string | null;
  bs: BdsNode;
  base: BdsNode;
  top: BdsNode;
  flags: JobFlags;
  speed: number;
  backingFile: string | null;
  filterNodeName: string | null;
}

/** `commit_start`. Throws QmpFailure with everything undone. */
export function commitStart(state: LayerState, req: CommitStart): void {
  const { base, top } = req;
  if (skipFilters(top) === skipFilters(base)) fail("Invalid files for merge: top and base are the same");
  const basePerms = BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE | (nodeLength(base) < nodeLength(top) ? BLK_PERM_RESIZE : 0);
  const s = createBlockJob(state, {
    id: req.jobId,
    make: (id) => new CommitJob(state, id, commitJobDriver as JobDriver<never>, req.flags),
    bs: req.bs,
    perm: 0,
    shared: BLK_PERM_ALL,
    speed: req.speed,
  });
  let commitTop: BdsNode | null = null;
  try {
    // Convert base to read-write if necessary.
    s.baseReadOnly = base.readOnly;
    if (s.baseReadOnly) reopenSetReadOnly(state, base, false);
    // Above top, so that consistent read can be blocked on the chain below it. Opened read-only.
    commitTop = runInTransaction((tran) =>
      new NodeOpener(state, tran).openDriver({ driver: commitTopDriver, nodeName: req.filterNodeName, options: {}, readOnly: true }),
    );
    if (req.filterNodeName === null) commitTop.implicit = true;
    // So that the job can always drop it.
    commitTop.neverFreeze = true;
    commitTop.size = totalSectorsLength(top);
    try {
      // qmp_block_commit holds the device's context.
      bdrvAppend(state, commitTop, top, state.aio.of(req.bs));
    } finally {
      // Referenced by its new parents, or freed.
      const appended = commitTop.parents.length > 0;
      releaseIfUnused(state, commitTop);
      if (!appended) commitTop = null;
    }
    s.commitTopBs = commitTop;

    // Every node from top down to base disappears from the chain: block them all.
    s.baseOverlay = findOverlay(top, base);
    const filteredBase = cowBs(s.baseOverlay);
    let iterShared = BLK_PERM_WRITE_UNCHANGED | BLK_PERM_WRITE;
    for (let iter: BdsNode | null = top; iter !== base; iter = filterOrCowBs(iter)) {
      // From here on all nodes are filters on base, which may share consistent read.
      if (iter === filteredBase) iterShared |= BLK_PERM_CONSISTENT_READ;
      s.addBdrv("intermediate node", iter!, 0, iterShared);
    }
    freezeBackingChain(commitTop!, base);
    s.chainFrozen = true;
    s.addBdrv("base", base, 0, BLK_PERM_ALL);
    const baseBlk = blkNew(state, basePerms, BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE_UNCHANGED);
    s.base = baseBlk.bb;
    // commit_start never allows its BlockBackends to change context: while it lives, nothing
    // connected to its chain moves (blk_root_change_aio_ctx refuses).
    state.aio.pin(baseBlk.bb);
    blkInsertBs(state, baseBlk, base);
    s.baseBs = base;
    // The permissions the job needs on top are taken by its edges already.
    const topBlk = blkNew(state, 0, BLK_PERM_ALL);
    s.top = topBlk.bb;
    state.aio.pin(topBlk.bb);
    blkInsertBs(state, topBlk, top);
    s.backingFileStr = req.backingFile;
  } catch (e) {
    if (s.chainFrozen) unfreezeBackingChain(commitTop!, base);
    if (s.base) blkUnref(state, s.base);
    if (s.top) blkUnref(state, s.top);
    if (s.baseReadOnly) reopenSetReadOnlyQuietly(state, base, true);
    jobEarlyFail(s);
    // Only now, without the job's permissions in the way.
    if (commitTop) replaceNode(state, commitTop, top);
    throw e;
  }
  s.start();
}
