/**
 * The backup job (block/backup.c): a copy-before-write filter inserted above the source
 * (`bdrv_cbw_append`) copies old data to the target before anything overwrites it, while the job
 * copies the rest in the background (sync=full: everything; sync=top: what the source's top
 * holds; sync=none: nothing, the job only waits to be cancelled). The job holds the filter as its
 * "main node" and the target as "target", neither with permissions (the filter takes them); at
 * the end the filter goes.
 */
import { BLOCK_COPY_MAX_WORKERS } from "../data/copy-before-write-io.js";
import { cbwCopyState, copyBeforeWriteDriver } from "../drivers/copy-before-write.js";
import type { CbwIoState } from "../data/copy-before-write-io.js";
import { bdrvIsAllocated } from "../data/block-status.js";
import { IoError, strerror } from "../data/io-error.js";
import type { BdsNode } from "../graph.js";
import { bdrvUnref } from "../graph-ops.js";
import { dropFilter } from "../graph-replace.js";
import { bdrvInsertNode } from "../insert-node.js";
import type { LayerState } from "../layer-state.js";
import { nodeLength } from "../node-length.js";
import { checkOpNotBlocked } from "../op-blockers.js";
import { BLK_PERM_ALL } from "../perms.js";
import { BITMAP_DEFAULT, checkDirtyBitmap } from "../dirty-bitmaps.js";
import { fail } from "../qmp-failure.js";
import { QemuHang } from "../qemu-would-hang.js";
import { abdicate, createSuccessor, reclaim } from "./bitmap-successor.js";
import type { DirtyBitmap } from "./dirty-bitmap.js";
import { BLOCK_JOB_DRIVER_DEFAULTS, BlockJob, createBlockJob, IGNORED_RETRIES } from "./block-job.js";
import { BlockCopyCall } from "./block-copy-call.js";
import type { Coroutine } from "./coroutine.js";
import type { JobDriver, JobFlags, JobTxn } from "./job.js";
import { RateLimit } from "./ratelimit.js";

const ECANCELED = 125;
/** BLOCK_COPY_SLICE_TIME. */
const BLOCK_COPY_SLICE_TIME_NS = 100_000_000;

export type BackupSync = "full" | "top" | "none" | "bitmap";
export type BitmapSyncMode = "on-success" | "never" | "always";

/** BackupBlockJob. */
export class BackupJob extends BlockJob {
  cbw!: BdsNode;
  bcs!: CbwIoState;
  sync!: BackupSync;
  len = 0;
  clusterSize = 0;
  /** x-perf max-workers: the copy tasks a call runs at once. */
  maxWorkers = BLOCK_COPY_MAX_WORKERS;
  /** x-perf max-chunk: the most a copy task takes (0: block-copy's own chunk). */
  maxChunk = 0;
  /** The block-copy state's rate limit (the job's own is not used). */
  readonly copyLimit = new RateLimit();
  bgCall: BlockCopyCall | null = null;
  syncBitmap: DirtyBitmap | null = null;
  bitmapMode: BitmapSyncMode = "on-success";
  /** Waiting for a cancelled call to finish (s->wait): its callback wakes the coroutine. */
  wait = false;

  /** `backup_set_speed`: the copy's rate limit; a copy sleeping for it is woken. */
  protected override speedChanged(speed: number): void {
    if (!this.bcs) return;
    this.copyLimit.setSpeed(speed, BLOCK_COPY_SLICE_TIME_NS);
    this.bgCall?.kick();
  }
}

/** `backup_block_copy_callback`. */
function copyCallback(job: BackupJob): void {
  if (job.wait) {
    job.wait = false;
    const co = job.co!;
    job.state.loop.scheduleBh(() => co.next());
  } else {
    job.state.loop.scheduleBh(() => job.enter());
  }
}

/** `backup_loop`: copy everything left; an error is retried or reported as the policy says. */
function* backupLoop(job: BackupJob): Coroutine<number> {
  let ret = 0;
  let failedAtOnce = 0;
  for (;;) {
    const call = new BlockCopyCall(job.state, job.bcs, 0, Math.ceil(job.len / job.clusterSize) * job.clusterSize, job.maxWorkers, job.maxChunk, () => copyCallback(job));
    job.bgCall = call;
    const atOnce = call.finished;
    while (!call.finished && !job.isCancelled()) yield* job.yieldUntilEntered();
    if (!call.finished) {
      call.cancel();
      job.wait = true;
      yield;
      break;
    }
    if (job.isCancelled() || call.succeeded) break;
    // Cancelled by a pause: a new call once resumed.
    if (call.cancelled) continue;
    ret = call.ret;
    const action = job.errorAction(call.errorIsRead, ret);
    if (action === "report") break;
    if (action === "stop") yield* job.pausePoint();
    if (action === "ignore") {
      // A new call at once, for as long as the error lasts. One that fails before it waits for
      // anything never yields: QEMU spins inside the coroutine, and its monitor answers nothing more.
      if (!atOnce) yield* job.ignoredAgain(0);
      else if (++failedAtOnce >= IGNORED_RETRIES) {
        throw new QemuHang(`backup_loop: a block-copy call that fails at once (${strerror(-ret)}) is made again under on-error=ignore, for ever, without yielding`);
      }
    }
    ret = 0;
  }
  job.bgCall = null;
  return ret;
}

/** `block_copy_is_cluster_allocated`: allocation of the cluster at `offset`, and how many clusters share it. */
function clusterAllocated(job: BackupJob, offset: number): { allocated: boolean; clusters: number } {
  const s = job.bcs;
  let bytes = s.len - offset;
  let total = 0;
  for (;;) {
    const r = bdrvIsAllocated(job.state, s.sourceChild.bs, offset, bytes);
    total += r.pnum;
    if (r.allocated || r.pnum === 0) return { allocated: r.allocated, clusters: Math.ceil(total / s.clusterSize) };
    if (total >= s.clusterSize) return { allocated: false, clusters: Math.floor(total / s.clusterSize) };
    offset += r.pnum;
    bytes -= r.pnum;
  }
}

/** `backup_run`. */
function* backupRun(job: BackupJob): Coroutine<number> {
  const bcs = job.bcs;
  // backup_init_bcs_bitmap.
  if (job.sync === "bitmap") {
    bcs.copyBitmap.clear();
    bcs.copyBitmap.mergeFrom(job.syncBitmap!);
  } else if (job.sync === "top") bcs.skipUnallocated = true;
  job.progressSetRemaining(bcs.copyBitmap.count());
  if (job.sync === "top") {
    for (let offset = 0; offset < job.len; ) {
      if (job.isCancelled()) return -ECANCELED;
      yield* job.pausePoint();
      if (job.isCancelled()) return -ECANCELED;
      // block_copy_reset_unallocated: a failed bdrv_is_allocated ends the job with its error.
      let r: { allocated: boolean; clusters: number };
      try {
        r = clusterAllocated(job, offset);
      } catch (e) {
        if (e instanceof IoError) return -e.errno;
        throw e;
      }
      const bytes = r.clusters * bcs.clusterSize;
      // Past the end of what is below a source whose length outgrew it (a filter whose file a
      // reopen swapped for a shorter node), no cluster is counted and the loop, which has no
      // yield but a pause point, never moves on: QEMU spins in its main thread.
      if (bytes === 0) throw new QemuHang(`backup_run: block_copy_reset_unallocated counts nothing at offset ${offset} of '${job.bcs.sourceChild.bs.name}', and the sync=top loop spins without yielding`);
      if (!r.allocated) {
        bcs.copyBitmap.reset(offset, bytes);
        job.progressSetRemaining(bcs.copyBitmap.count());
      }
      offset += bytes;
    }
    bcs.skipUnallocated = false;
  }
  if (job.sync === "none") {
    // Guest writes are copied by the filter; the job waits to be cancelled.
    while (!job.isCancelled()) yield* job.yieldUntilEntered();
    return 0;
  }
  return yield* backupLoop(job);
}

/**
 * `backup_cleanup_sync_bitmap`: after a success, or always with bitmap-mode=always (never with
 * never), the successor takes the bitmap's place; else what it recorded goes back into the bitmap.
 * A failed job with bitmap-mode=always also keeps what it did not copy.
 */
function cleanupSyncBitmap(job: BackupJob, ret: number): void {
  const bitmap = job.syncBitmap!;
  const sync = (ret === 0 || job.bitmapMode === "always") && job.bitmapMode !== "never";
  // The user's bitmap is on the source, as the copy bitmap is.
  const bs = job.bcs.copyBitmapNode;
  const bm = sync ? abdicate(bs, bitmap) : reclaim(bs, bitmap);
  if (ret < 0 && job.bitmapMode === "always") bm.mergeFrom(job.bcs.copyBitmap);
}

/** `backup_pause`: a running copy is cancelled, and waited for. */
function* backupPause(job: BackupJob): Coroutine {
  if (job.bgCall && !job.bgCall.finished) {
    job.bgCall.cancel();
    job.wait = true;
    yield;
  }
}

/** `backup_clean`: the job's edges go, then the filter. */
function backupClean(job: BackupJob): void {
  job.removeAllBdrv();
  // A filter someone else still holds copies on, for no job.
  job.bcs.meter = undefined;
  cbwDrop(job.state, job.cbw);
}

/** `bdrv_cbw_drop`. */
function cbwDrop(state: LayerState, cbw: BdsNode): void {
  dropFilter(state, cbw);
  bdrvUnref(state, cbw);
}

const backupJobDriver: JobDriver<BackupJob> = {
  jobType: "backup",
  ...BLOCK_JOB_DRIVER_DEFAULTS,
  run: backupRun,
  commit: (job) => {
    if (job.syncBitmap) cleanupSyncBitmap(job, 0);
  },
  abort: (job) => {
    if (job.syncBitmap) cleanupSyncBitmap(job, -1);
  },
  clean: backupClean,
  pause: backupPause,
  // backup_cancel: whatever the target has in flight is cancelled, and the cancel is forced.
  cancel: () => true,
};

/** What `backup_job_create` is given by do_backup_common. */
export interface BackupStart {
  jobId: string | null;
  bs: BdsNode;
  target: BdsNode;
  speed: number;
  sync: BackupSync;
  syncBitmap: DirtyBitmap | null;
  bitmapMode: BitmapSyncMode;
  compress: boolean;
  filterNodeName: string | null;
  maxWorkers: number;
  maxChunk: number;
  flags: JobFlags;
  /** A grouped transaction's: the job joins it. */
  txn: JobTxn | null;
}

/** `bdrv_supports_compressed_writes`: the driver can, and so can whatever node a filter passes them to. */
function supportsCompressedWrites(bs: BdsNode): boolean {
  if (!bs.driver.canCompress) return false;
  const filtered = bs.driver.isFilter ? bs.children.find((c) => c.name === "file" || c.name === "backing")?.bs : undefined;
  return filtered ? supportsCompressedWrites(filtered) : true;
}

/** `backup_job_create`: QEMU's checks in its order, the filter, the job (not started). Throws QmpFailure with everything undone. */
export function backupJobCreate(state: LayerState, req: BackupStart): BackupJob {
  const { bs, target } = req;
  if (bs === target) fail("Source and target cannot be the same");
  // bdrv_get_device_name: nodes have no device name in the storage daemon.
  if (req.compress && !supportsCompressedWrites(target)) fail("Compression is not supported for this drive ");
  checkOpNotBlocked(bs, "backup-source");
  checkOpNotBlocked(target, "backup-target");
  if (req.maxWorkers < 1 || req.maxWorkers > 2147483647) fail("max-workers must be between 1 and 2147483647");
  if (req.maxChunk < 0) fail("max-chunk must be zero (which means no limit) or positive");
  const { syncBitmap } = req;
  if (syncBitmap) {
    // Checked when the job will write it (a read-only bitmap can serve bitmap-mode=never); frozen for the job.
    if (req.bitmapMode !== "never") checkDirtyBitmap(syncBitmap, BITMAP_DEFAULT);
    createSuccessor(bs, syncBitmap);
  }
  let cbw: BdsNode | undefined;
  try {
    const len = nodeLength(bs);
    if (nodeLength(target) !== len) fail("Source and target image have different sizes");
    cbw = appendCbw(state, req);
    const job = createBackupJob(state, req, cbw, len);
    return job;
  } catch (e) {
    if (syncBitmap) reclaim(bs, syncBitmap);
    if (cbw) cbwDrop(state, cbw);
    throw e;
  }
}

/** `bdrv_cbw_append`. */
function appendCbw(state: LayerState, req: BackupStart): BdsNode {
  const { bs, target } = req;
  const options: Record<string, unknown> = { driver: "copy-before-write" };
  if (req.filterNodeName !== null) options["node-name"] = req.filterNodeName;
  options["file"] = bs.name;
  options["target"] = target.name;
  return bdrvInsertNode(state, bs, copyBeforeWriteDriver, options, req.filterNodeName);
}

/** The rest of `backup_job_create`, once the filter is there: the job, on the filter, and its target edge. */
function createBackupJob(state: LayerState, req: BackupStart, cbw: BdsNode, len: number): BackupJob {
  const { target } = req;
  const bcs = cbwCopyState(cbw);
  if (req.maxChunk && req.maxChunk < bcs.clusterSize) {
    fail(`Required max-chunk (${req.maxChunk}) is less than backup cluster size (${bcs.clusterSize})`);
  }
  // job->len is fixed, so the filter may not be resized.
  const job = createBlockJob(state, {
    id: req.jobId,
    make: (id) => {
      const job = new BackupJob(state, id, backupJobDriver as JobDriver<never>, req.flags);
      if (req.txn) job.joinTxn(req.txn);
      return job;
    },
    bs: cbw,
    perm: 0,
    shared: BLK_PERM_ALL,
    speed: req.speed,
  });
  job.cbw = cbw;
  job.bcs = bcs;
  job.sync = req.sync;
  job.syncBitmap = req.syncBitmap;
  job.bitmapMode = req.bitmapMode;
  job.len = len;
  job.clusterSize = bcs.clusterSize;
  job.maxWorkers = req.maxWorkers;
  job.maxChunk = req.maxChunk;
  // block_copy_set_copy_opts, block_copy_set_progress_meter, block_copy_set_speed.
  bcs.compress = req.compress;
  bcs.meter = {
    progressUpdate: (n) => job.progressUpdate(n),
    progressSetRemaining: (n) => job.progressSetRemaining(n),
    dispatch: (n) => job.copyLimit.calculateDelay(n, state.loop.nowNs),
  };
  job.copyLimit.setSpeed(req.speed, BLOCK_COPY_SLICE_TIME_NS);
  // The filter's target edge has the permissions the job needs.
  job.addBdrv("target", target, 0, BLK_PERM_ALL);
  return job;
}
