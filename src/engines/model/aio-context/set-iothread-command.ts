/** x-blockdev-set-iothread (blockdev.c `qmp_x_blockdev_set_iothread`, QEMU 7.2). */
import { acquireNodeContext } from "./iothread-objects.js";
import type { CommandHandler } from "../commands/handler.js";
import { fail } from "../qmp-failure.js";
import { tryChangeAioContext } from "./change-aio-context.js";

/**
 * Move a node, and everything connected to it, into an iothread's context (or back to the main
 * loop's with `"iothread": null`). A node with a BlockBackend parent (an export, a job's) needs
 * force=true. The caller holds the node's old context, so the move itself never trips QEMU's
 * locking.
 */
export const xBlockdevSetIothread: CommandHandler = (state, args) => {
  const nodeName = String(args["node-name"]);
  const bs = state.nodes.get(nodeName) ?? fail(`Failed to find node with node-name='${nodeName}'`);
  // bdrv_has_blk: a BlockBackend among the node's own parents.
  if (args["force"] !== true && bs.parents.some((c) => c.parent.kind === "bb")) {
    fail(`Node ${nodeName} is associated with a BlockBackend and could be in use (use force=true to override this check)`);
  }
  const iothread = args["iothread"];
  let ctx = state.aio.main;
  if (typeof iothread === "string") ctx = state.aio.iothread(iothread) ?? fail(`Cannot find iothread ${iothread}`);
  acquireNodeContext(state, bs);
  const refusal = tryChangeAioContext(state, bs, ctx, { held: state.aio.of(bs) });
  if (refusal !== undefined) fail(refusal);
  return {};
};
