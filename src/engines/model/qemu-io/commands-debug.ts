/**
 * qemu-io's blkdebug commands (qemu-io-cmds.c `break_f`, `remove_break_f`, `resume_f`,
 * `wait_break_f`) and the `bdrv_debug_*` functions of block.c they call: each goes down the node's
 * primary children to the first driver with debug hooks (blkdebug); without one it is -ENOTSUP.
 */
import type { DebugHooks } from "../drivers/driver.js";
import { ModelIoUnsupportedError, strerror } from "../data/io-error.js";
import { type BdsNode, primaryChild } from "../graph.js";
import type { CommandFn } from "./command-context.js";

const ENOTSUP = 95;

/** The first node down the primary children whose driver has debug hooks. */
function debugNode(bs: BdsNode): { node: BdsNode; hooks: DebugHooks } | undefined {
  let n: BdsNode | undefined = bs;
  while (n && !n.driver.debug) n = primaryChild(n)?.bs;
  return n ? { node: n, hooks: n.driver.debug! } : undefined;
}

export const breakF: CommandFn = (ctx, argv) => {
  const d = debugNode(ctx.blk.bs);
  const err = d ? d.hooks.breakpoint(d.node, argv[1]!, argv[2]!) : ENOTSUP;
  if (err) ctx.out.line(`Could not set breakpoint: ${strerror(err)}`);
};

export const removeBreakF: CommandFn = (ctx, argv) => {
  const d = debugNode(ctx.blk.bs);
  const err = d ? d.hooks.removeBreakpoint(d.node, argv[1]!) : ENOTSUP;
  if (err) ctx.out.line(`Could not remove breakpoint ${argv[1]!}: ${strerror(err)}`);
};

export const resumeF: CommandFn = (ctx, argv) => {
  const d = debugNode(ctx.blk.bs);
  const err = d ? d.hooks.resume(d.node, argv[1]!) : ENOTSUP;
  if (err) ctx.out.line(`Could not resume request: ${strerror(err)}`);
};

/** `wait_break_f` polls until a request with the tag is suspended; QEMU waits for ever when none is. */
export const waitBreakF: CommandFn = (ctx, argv) => {
  const d = debugNode(ctx.blk.bs);
  if (d && d.hooks.isSuspended(d.node, argv[1]!)) return;
  throw new ModelIoUnsupportedError(`wait_break with no request suspended at '${argv[1]!}' (QEMU 7.2 waits for ever)`);
};
