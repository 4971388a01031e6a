/**
 * blockdev-snapshot-sync (blockdev.c: a transaction of one `external_snapshot` action, its sync
 * branch): unless `mode` is `existing`, the overlay's image is created first (`bdrv_img_create`,
 * naming the node's filename and format as its backing file, the node's length as its size); then
 * it is opened (`bdrv_open`) with the node's open flags and no backing file, and appended as
 * blockdev-snapshot appends its overlay. The action holds the only reference to the overlay it
 * opened, so an overlay the node's parents did not take goes again at clean; the file stays.
 */
import { bdrvImgCreate } from "../create/img-create.js";
import type { BdsNode } from "../graph.js";
import { bdrvRef } from "../graph-ops.js";
import type { LayerState } from "../layer-state.js";
import { nodeLength } from "../node-length.js";
import { NodeOpener, openFlagsOf } from "../open-node.js";
import { FilenameCache } from "../query/filename.js";
import { fail } from "../qmp-failure.js";
import { runInTransaction } from "../transaction.js";
import { externalSnapshotAction } from "./blockdev-snapshot.js";
import type { CommandHandler } from "./handler.js";
import { type BlkAction, type CompletionMode, runBlkActions } from "./transaction-actions.js";

type Args = Record<string, unknown>;

export const blockdevSnapshotSync: CommandHandler = (state, args) => {
  runBlkActions(state, [() => externalSnapshotSync(state, args, "individual")]);
  return {};
};

/** The `blockdev-snapshot-sync` action. */
export function externalSnapshotSync(state: LayerState, args: Args, mode: CompletionMode): BlkAction {
  const str = (key: string) => (typeof args[key] === "string" ? (args[key] as string) : undefined);
  const device = str("device");
  const nodeName = str("node-name");
  return externalSnapshotAction(state, mode, {
    type: "blockdev-snapshot-sync",
    // bdrv_lookup_bs(device, node_name): a device is a named BlockBackend, which none of the
    // engine's processes has, so only the node name can find anything.
    lookup: () =>
      (nodeName === undefined ? undefined : state.nodes.get(nodeName)) ?? fail(`Cannot find device='${device ?? ""}' nor node-name='${nodeName ?? ""}'`),
    openOverlay: (oldBs) => ({ bs: openSyncOverlay(state, args, oldBs, nodeName !== undefined), owned: true }),
  });
}

function openSyncOverlay(state: LayerState, args: Args, oldBs: BdsNode, byNodeName: boolean): BdsNode {
  const file = String(args["snapshot-file"]);
  const format = typeof args["format"] === "string" ? args["format"] : "qcow2";
  const overlayName = typeof args["snapshot-node-name"] === "string" ? args["snapshot-node-name"] : undefined;
  if (byNodeName && overlayName === undefined) fail("New overlay node-name missing");
  if (overlayName !== undefined && state.nodes.has(overlayName)) fail("New overlay node-name already in use");
  // bdrv_img_create(file, format, old_bs->filename, old_bs->drv->format_name, NULL, size, flags | BDRV_O_NO_BACKING).
  if (args["mode"] !== "existing") {
    bdrvImgCreate(state, file, format, { file: new FilenameCache().filename(oldBs), format: oldBs.driver.name }, nodeLength(oldBs), true);
  }
  const held = state.aio.of(oldBs);
  return runInTransaction((tran) => {
    const bs = new NodeOpener(state, tran, held).open({
      // qdict_put_str order: the node name, then the driver; `backing: null` is BDRV_O_NO_BACKING,
      // which bdrv_open_inherit turns the same way into no backing file and no option.
      options: { ...(overlayName !== undefined ? { "node-name": overlayName } : {}), driver: format, backing: null },
      parent: null,
      parentOptions: null,
      role: 0,
      filename: file,
      // The node's open flags, less BDRV_O_SNAPSHOT and BDRV_O_COPY_ON_READ, plus BDRV_O_NO_BACKING.
      flags: openFlagsOf(oldBs, oldBs.readOnly),
    });
    bdrvRef(bs);
    return bs;
  });
}

