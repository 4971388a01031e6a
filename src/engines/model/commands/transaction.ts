/**
 * `transaction` (blockdev.c `qmp_transaction`): a list of actions that all happen or none does.
 * Arguments are checked for the whole list before any action runs (QAPI).
 */
import { JobTxn } from "../jobs/job.js";
import type { LayerState } from "../layer-state.js";
import { ModelUnsupportedError } from "../model-unsupported.js";
import { bitmapAdd, bitmapClear, bitmapMerge, bitmapRemove, bitmapSetEnabled } from "./bitmap-actions.js";
import { blockdevBackupAction } from "./blockdev-backup.js";
import { driveBackupAction } from "./drive-backup.js";
import { externalSnapshot } from "./blockdev-snapshot.js";
import { externalSnapshotSync } from "./blockdev-snapshot-sync.js";
import { internalSnapshotAction } from "./blockdev-snapshot-internal.js";
import type { CommandHandler } from "./handler.js";
import { type BlkAction, type CompletionMode, runBlkActions } from "./transaction-actions.js";
import { fail } from "../qmp-failure.js";

type Args = Record<string, unknown>;
/** `jobTxn`: the transaction's JobTxn, with a grouped completion mode (`job_txn_new`). */
type MakeAction = (state: LayerState, data: Args, mode: CompletionMode, jobTxn: JobTxn | null) => BlkAction;

const ACTIONS: ReadonlyMap<string, MakeAction> = new Map<string, MakeAction>([
  ["abort", () => ({ prepare: () => fail("Transaction aborted using Abort action") })],
  ["block-dirty-bitmap-add", bitmapAdd],
  ["block-dirty-bitmap-remove", bitmapRemove],
  ["block-dirty-bitmap-clear", bitmapClear],
  ["block-dirty-bitmap-enable", (state, data, mode) => bitmapSetEnabled(state, data, mode, true)],
  ["block-dirty-bitmap-disable", (state, data, mode) => bitmapSetEnabled(state, data, mode, false)],
  ["block-dirty-bitmap-merge", bitmapMerge],
  ["blockdev-backup", blockdevBackupAction],
  ["drive-backup", driveBackupAction],
  ["blockdev-snapshot", externalSnapshot],
  ["blockdev-snapshot-sync", externalSnapshotSync],
  ["blockdev-snapshot-internal-sync", internalSnapshotAction],
]);

export const transaction: CommandHandler = (state, args) => {
  const list = args["actions"] as { type: string; data: Args }[];
  const props = args["properties"] as { "completion-mode"?: CompletionMode } | undefined;
  const mode = props?.["completion-mode"] ?? "individual";
  const jobTxn = mode !== "individual" ? new JobTxn() : null;
  const actions = list.map(({ type, data }) => {
    const make = ACTIONS.get(type);
    if (!make) throw new ModelUnsupportedError(`the transaction action '${type}'`);
    return () => make(state, data, mode, jobTxn);
  });
  runBlkActions(state, actions);
  return {};
};
