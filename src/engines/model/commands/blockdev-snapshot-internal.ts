/**
 * blockdev-snapshot-internal-sync (blockdev.c: a transaction of one `internal_snapshot_prepare`
 * action) and blockdev-snapshot-delete-internal-sync, up to where QEMU would write the snapshot
 * table: the checks in QEMU's order and their errors. Taking a snapshot of a qcow2 image is
 * E_MODEL_UNSUPPORTED; deleting one never gets that far, since the model's images have none.
 */
import { acquireNodeContext } from "../aio-context/iothread-objects.js";
import { isInserted } from "../data/block-io.js";
import { strerror } from "../data/io-error.js";
import { bdrvDrainedBegin, bdrvDrainedEnd } from "../drain.js";
import type { BdsNode } from "../graph.js";
import type { LayerState } from "../layer-state.js";
import { ModelUnsupportedError } from "../model-unsupported.js";
import { checkOpNotBlocked } from "../op-blockers.js";
import { fail } from "../qmp-failure.js";
import { canSnapshot, snapshotCount, snapshotCreate } from "../snapshot.js";
import { getRootBs } from "./block-commit.js";
import type { CommandHandler } from "./handler.js";
import { type BlkAction, checkCompletionMode, type CompletionMode, runBlkActions } from "./transaction-actions.js";

/** `qmp_get_root_bs`. */
function rootBsWithMedium(state: LayerState, device: string): BdsNode {
  const bs = getRootBs(state, device);
  if (!isInserted(bs)) fail("Device has no medium");
  return bs;
}

/** `bdrv_snapshot_find_by_id_and_name`, on a node whose snapshots the model knows to be none. */
function findSnapshot(bs: BdsNode): false {
  const count = snapshotCount(bs);
  if (count < 0) fail(`Failed to get a snapshot list: ${strerror(-count)}`);
  if (count > 0) throw new ModelUnsupportedError("looking up a qcow2 internal snapshot");
  return false;
}

/** The `blockdev-snapshot-internal-sync` action (`internal_snapshot_prepare` and its clean). */
export function internalSnapshotAction(state: LayerState, data: Record<string, unknown>, mode: CompletionMode): BlkAction {
  let drained: BdsNode | undefined;
  return {
    prepare() {
      const device = String(data["device"]);
      const name = String(data["name"]);
      checkCompletionMode("blockdev-snapshot-internal-sync", mode);
      const bs = rootBsWithMedium(state, device);
      acquireNodeContext(state, bs);
      // Paired with clean.
      if (bdrvDrainedBegin(state, bs)) drained = bs;
      checkOpNotBlocked(bs, "internal-snapshot");
      if (bs.readOnly) fail(`Device '${device}' is read only`);
      if (!canSnapshot(bs)) fail(`Block format '${bs.driver.name}' used by device '${device}' does not support internal snapshots`);
      if (name === "") fail("Name is empty");
      findSnapshot(bs);
      // Not reached by an image with an external data file: its snapshot list fails first.
      const ret = snapshotCreate(bs);
      if (ret < 0) fail(`Failed to create snapshot '${name}' on device '${device}': ${strerror(-ret)}`);
      throw new ModelUnsupportedError("qcow2 internal snapshots");
    },
    clean() {
      if (drained) bdrvDrainedEnd(drained);
    },
  };
}

export const blockdevSnapshotInternalSync: CommandHandler = (state, args) => {
  runBlkActions(state, [() => internalSnapshotAction(state, args, "individual")]);
  return {};
};

export const blockdevSnapshotDeleteInternalSync: CommandHandler = (state, args) => {
  const device = String(args["device"]);
  const bs = rootBsWithMedium(state, device);
  acquireNodeContext(state, bs);
  const id = typeof args["id"] === "string" ? args["id"] : null;
  const name = typeof args["name"] === "string" ? args["name"] : null;
  if (id === null && name === null) fail("Name or id must be provided");
  checkOpNotBlocked(bs, "internal-snapshot-delete");
  findSnapshot(bs);
  // STR_OR_NULL.
  return fail(`Snapshot with id '${id ?? "null"}' and name '${name ?? "null"}' does not exist on device '${device}'`);
};
