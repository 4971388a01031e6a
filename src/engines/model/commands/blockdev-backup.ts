/**
 * blockdev-backup (blockdev.c `qmp_blockdev_backup`: a transaction of one `blockdev-backup` action)
 * and that action: `blockdev_backup_prepare` finds both nodes, moves the target into the source's
 * AioContext, and, with the source drained until the action's clean, checks the arguments
 * (`do_backup_common`, then `backup_job_create`) and makes the job; commit starts it, abort
 * cancels it.
 */
import { acquireNodeContext } from "../aio-context/iothread-objects.js";
import { tryChangeAioContext } from "../aio-context/change-aio-context.js";
import { bdrvDrainedBegin, bdrvDrainedEnd } from "../drain.js";
import type { BdsNode } from "../graph.js";
import { backupJobCreate, type BackupJob, type BackupSync, type BitmapSyncMode } from "../jobs/backup.js";
import type { DirtyBitmap } from "../jobs/dirty-bitmap.js";
import { jobFlags } from "../jobs/job-args.js";
import type { JobTxn } from "../jobs/job.js";
import { jobCancel } from "../jobs/job-finish.js";
import type { LayerState } from "../layer-state.js";
import { ModelUnsupportedError } from "../model-unsupported.js";
import { fail } from "../qmp-failure.js";
import { BITMAP_ALLOW_RO, checkDirtyBitmap, findDirtyBitmap } from "../dirty-bitmaps.js";
import type { CommandHandler } from "./handler.js";
import { type BlkAction, type CompletionMode, runBlkActions } from "./transaction-actions.js";

type Args = Record<string, unknown>;

/** `bdrv_lookup_bs(name, name)`. */
export function lookupBs(state: LayerState, name: string): BdsNode {
  return state.nodes.get(name) ?? fail(`Cannot find device='${name}' nor node-name='${name}'`);
}

/** `do_backup_common`'s checks of sync and bitmap, in its order: the bitmap, if one is used, and its mode. */
function checkSyncAndBitmap(bs: BdsNode, args: Args): { sync: BackupSync; syncBitmap: DirtyBitmap | null; bitmapMode: BitmapSyncMode } {
  let sync = String(args["sync"]);
  const bitmapName = typeof args["bitmap"] === "string" ? args["bitmap"] : undefined;
  let bitmapMode = typeof args["bitmap-mode"] === "string" ? args["bitmap-mode"] : undefined;
  if ((sync === "bitmap" || sync === "incremental") && bitmapName === undefined) fail(`must provide a valid bitmap name for '${sync}' sync mode`);
  if (sync === "incremental") {
    if (bitmapMode !== undefined && bitmapMode !== "on-success") fail(`Bitmap sync mode must be 'on-success' when using sync mode '${sync}'`);
    sync = "bitmap";
    bitmapMode = "on-success";
  }
  let bitmap: DirtyBitmap | null = null;
  if (bitmapName !== undefined) {
    bitmap = findDirtyBitmap(bs, bitmapName) ?? fail(`Bitmap '${bitmapName}' could not be found`);
    if (bitmapMode === undefined) fail("Bitmap sync mode must be given when providing a bitmap");
    checkDirtyBitmap(bitmap, BITMAP_ALLOW_RO);
    if (sync === "none") fail(`sync mode '${sync}' does not produce meaningful bitmap outputs`);
    if (bitmapMode === "never" && sync !== "bitmap") fail(`Bitmap sync mode 'never' has no meaningful effect when combined with sync mode '${sync}'`);
  }
  if (bitmapName === undefined && bitmapMode !== undefined) fail("Cannot specify bitmap sync mode without a bitmap");
  return { sync: sync as BackupSync, syncBitmap: bitmap, bitmapMode: (bitmapMode ?? "on-success") as BitmapSyncMode };
}

/** `do_backup_common`: the checks of the arguments both backup commands share, then the job. */
export function createBackupJob(state: LayerState, data: Args, bs: BdsNode, target: BdsNode, jobTxn: JobTxn | null): BackupJob {
  const { sync, syncBitmap, bitmapMode } = checkSyncAndBitmap(bs, data);
  const perf = (data["x-perf"] ?? {}) as Args;
  if (perf["use-copy-range"] === true) throw new ModelUnsupportedError("a backup with x-perf use-copy-range");
  return backupJobCreate(state, {
    jobId: typeof data["job-id"] === "string" ? data["job-id"] : null,
    bs,
    target,
    speed: typeof data["speed"] === "number" ? data["speed"] : 0,
    sync,
    syncBitmap,
    bitmapMode,
    compress: data["compress"] === true,
    filterNodeName: typeof data["filter-node-name"] === "string" ? data["filter-node-name"] : null,
    maxWorkers: typeof perf["max-workers"] === "number" ? perf["max-workers"] : 64,
    maxChunk: typeof perf["max-chunk"] === "number" ? perf["max-chunk"] : 0,
    flags: jobFlags(data),
    txn: jobTxn,
  });
}

/** What both backup actions do once prepared: commit starts the job, abort cancels it, clean ends the source's drained section. */
export function backupActionEnd(job: () => BackupJob | undefined, drained: () => BdsNode | undefined): Omit<BlkAction, "prepare"> {
  return {
    commit() {
      job()!.start();
    },
    abort() {
      // job_cancel_sync: a job that never started completes at once.
      const j = job();
      if (j) jobCancel(j, true);
    },
    clean() {
      const bs = drained();
      if (bs) bdrvDrainedEnd(bs);
    },
  };
}

/** The `blockdev-backup` transaction action (BlockdevBackupState). */
export function blockdevBackupAction(state: LayerState, data: Args, _mode: CompletionMode, jobTxn: JobTxn | null): BlkAction {
  let drained: BdsNode | undefined;
  let job: BackupJob | undefined;
  return {
    prepare() {
      const bs = lookupBs(state, String(data["device"]));
      const target = lookupBs(state, String(data["target"]));
      acquireNodeContext(state, target);
      const refusal = tryChangeAioContext(state, target, state.aio.of(bs), { held: state.aio.of(target) });
      if (refusal !== undefined) fail(refusal);
      acquireNodeContext(state, bs);
      // Paired with clean.
      if (bdrvDrainedBegin(state, bs)) drained = bs;
      job = createBackupJob(state, data, bs, target, jobTxn);
    },
    ...backupActionEnd(
      () => job,
      () => drained,
    ),
  };
}

export const blockdevBackup: CommandHandler = (state, args) => {
  runBlkActions(state, [() => blockdevBackupAction(state, args, "individual", null)]);
  return {};
};
