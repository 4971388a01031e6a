/**
 * drive-backup (blockdev.c `qmp_drive_backup`: a transaction of one `drive-backup` action) and that
 * action: `drive_backup_prepare` drains the source, creates the target image unless `mode` is
 * `existing` (`bdrv_img_create`: over the source's backing file for sync=top, over the source
 * itself for sync=none, else alone), opens it with the source's open flags, writable, and
 * `discard=unmap detect-zeroes=unmap`, moves it into the source's AioContext, gives a sync=none
 * target the source as its backing node, and makes the job as blockdev-backup does
 * (`do_backup_common`). The job holds the target, an auto-named node: it goes when the job does.
 */
import { acquireNodeContext } from "../aio-context/iothread-objects.js";
import { tryChangeAioContext } from "../aio-context/change-aio-context.js";
import { cowBs, skipFilters } from "../chain.js";
import { bdrvImgCreate } from "../create/img-create.js";
import { bdrvDrainedBegin } from "../drain.js";
import { type BdsNode, skipImplicitFilters } from "../graph.js";
import { bdrvUnref } from "../graph-ops.js";
import type { BackupJob } from "../jobs/backup.js";
import type { JobTxn } from "../jobs/job.js";
import type { LayerState } from "../layer-state.js";
import { nodeLength } from "../node-length.js";
import { checkOpNotBlocked } from "../op-blockers.js";
import { FilenameCache } from "../query/filename.js";
import { fail } from "../qmp-failure.js";
import { setBackingHd } from "../set-backing.js";
import { backupActionEnd, createBackupJob, lookupBs } from "./blockdev-backup.js";
import type { CommandHandler } from "./handler.js";
import { openCopyTarget } from "./open-copy-target.js";
import { type BlkAction, type CompletionMode, runBlkActions } from "./transaction-actions.js";

type Args = Record<string, unknown>;

/** The `drive-backup` transaction action (DriveBackupState). */
export function driveBackupAction(state: LayerState, data: Args, _mode: CompletionMode, jobTxn: JobTxn | null): BlkAction {
  let drained: BdsNode | undefined;
  let job: BackupJob | undefined;
  return {
    prepare() {
      const mode = typeof data["mode"] === "string" ? data["mode"] : "absolute-paths";
      const bs = lookupBs(state, String(data["device"]));
      if (bs.ejected) fail("Device has no medium");
      acquireNodeContext(state, bs);
      // Paired with clean.
      if (bdrvDrainedBegin(state, bs)) drained = bs;
      const format = typeof data["format"] === "string" ? data["format"] : mode === "existing" ? null : bs.driver.name;
      // Early, so that no target is created.
      checkOpNotBlocked(bs, "backup-source");

      let sync = String(data["sync"]);
      let source: BdsNode | null = null;
      if (sync === "top") {
        // The backup replaces nothing, so every filter on top may be skipped to find the COW link.
        source = cowBs(skipFilters(bs));
        if (!source) sync = "full";
      }
      const noBacking = sync === "none";
      if (noBacking) source = bs;
      const size = nodeLength(bs);
      const targetFile = String(data["target"]);
      if (mode !== "existing") {
        // Implicit filters do not appear in the name written into the header.
        const base = source ? skipImplicitFilters(source) : null;
        bdrvImgCreate(state, targetFile, format!, base ? { file: new FilenameCache().filename(base), format: base.driver.name } : null, size, noBacking);
      }

      // bs->open_flags | BDRV_O_RDWR, with BDRV_O_NO_BACKING for sync=none
      const target = openCopyTarget(state, "drive-backup", bs, targetFile, {
        discard: "unmap",
        "detect-zeroes": "unmap",
        driver: format,
        ...(noBacking ? { backing: null } : {}),
      });
      try {
        const refusal = tryChangeAioContext(state, target, state.aio.of(bs), { held: state.aio.of(target) });
        if (refusal !== undefined) fail(refusal);
        if (noBacking) setBackingHd(state, target, source);
        job = createBackupJob(state, { ...data, sync }, bs, target, jobTxn);
      } finally {
        bdrvUnref(state, target);
      }
    },
    ...backupActionEnd(
      () => job,
      () => drained,
    ),
  };
}

export const driveBackup: CommandHandler = (state, args) => {
  runBlkActions(state, [() => driveBackupAction(state, args, "individual", null)]);
  return {};
};
