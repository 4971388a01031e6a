/**
 * block_resize (blockdev.c `qmp_block_resize`): the node is found, its op blockers asked, and a
 * BlockBackend of its own takes the resize permission (sharing everything) for `blk_truncate`, in a
 * drained section; then it goes again (and may leave an iothread's lock taken, below). The
 * truncate runs in the node's context (bdrv_co_enter reschedules the command's coroutine there),
 * which an iothread whose lock the main thread leaked never enters: QEMU waits for ever.
 */
import { acquireNodeContext } from "../aio-context/iothread-objects.js";
import { blkNewWithBs, blkUnref } from "../block-backend.js";
import { bdrvTruncate } from "../data/truncate.js";
import { withDrained } from "../drain.js";
import type { BdsNode } from "../graph.js";
import type { LayerState } from "../layer-state.js";
import { opBlocker } from "../op-blockers.js";
import { BLK_PERM_ALL, BLK_PERM_RESIZE } from "../perms.js";
import { fail } from "../qmp-failure.js";
import { QemuHang } from "../qemu-would-hang.js";
import type { CommandHandler } from "./handler.js";

/**
 * `bdrv_lookup_bs(device, node_name)`: a device is a named BlockBackend, which qemu-storage-daemon
 * never has, so only the node name can find anything.
 */
function lookupBs(state: LayerState, device: string | undefined, nodeName: string | undefined): BdsNode {
  const bs = nodeName === undefined ? undefined : state.nodes.get(nodeName);
  return bs ?? fail(`Cannot find device='${device ?? ""}' nor node-name='${nodeName ?? ""}'`);
}

export const blockResize: CommandHandler = (state, args) => {
  const device = typeof args["device"] === "string" ? args["device"] : undefined;
  const bs = lookupBs(state, device, typeof args["node-name"] === "string" ? args["node-name"] : undefined);
  const size = Number(args["size"]);
  if (size < 0) fail("Parameter 'size' expects a >0 size");
  // QERR_DEVICE_IN_USE is formatted with `device`, which a call by node name leaves NULL.
  if (opBlocker(bs, "resize") !== undefined) fail(`Device '${device ?? "(null)"}' is in use`);
  const blk = blkNewWithBs(state, bs, BLK_PERM_RESIZE, BLK_PERM_ALL);
  // Like qemu-io's, this BlockBackend's edge lives only for the command (child-slots.ts).
  state.childSlots.transient(blk.root!);
  // bdrv_co_lock takes the node's context before the BlockBackend goes, and bdrv_co_unlock gives
  // back the node's context after: when the release moved the node to the main loop, that is the
  // main loop's (nothing to give), and the iothread's lock stays taken for good.
  const ctx = state.aio.of(bs);
  // bdrv_co_lock before the drained section begins: a deleted iothread's freed lock aborts there.
  acquireNodeContext(state, bs);
  let hang: QemuHang | undefined;
  try {
    withDrained(state, bs, () => {
      if (!ctx.isMain && ctx.leakedLocks > 0) {
        throw (hang = new QemuHang(`block_resize of '${bs.name}' reschedules its coroutine in iothread '${ctx.name}', whose AioContext lock the main thread took and never gave back`));
      }
      bdrvTruncate(state, bs, size, false, "off", 0);
    });
  } finally {
    // A QEMU that hangs never gets past the truncate.
    if (!hang) {
      blkUnref(state, blk);
      if (!ctx.isMain && state.aio.of(bs) !== ctx) ctx.leakedLocks++;
    }
  }
  return {};
};
