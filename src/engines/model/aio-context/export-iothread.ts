/**
 * The iothread part of block/export/export.c `blk_exp_add` (QEMU 7.2): with `iothread`, the node
 * (and everything connected to it) is moved into that iothread's context first. Without
 * fixed-iothread a refusal is ignored and the export runs where the node is; with it the export
 * fails. The export's BlockBackend then may follow later moves unless fixed-iothread was set
 * (then it refuses them: "Cannot change iothread of active block backend").
 */
import type { BdsNode, BlockBackend } from "../graph.js";
import type { LayerState } from "../layer-state.js";
import { fail } from "../qmp-failure.js";
import { tryChangeAioContext } from "./change-aio-context.js";

/** Move `bs` as block-export-add's `iothread` asks. Throws QmpFailure. */
export function exportIothread(state: LayerState, bs: BdsNode, args: Record<string, unknown>): void {
  const id = args["iothread"];
  if (typeof id !== "string") return;
  const ctx = state.aio.iothread(id) ?? fail(`iothread "${id}" not found`);
  // blk_exp_add holds the node's context while it moves it.
  const refusal = tryChangeAioContext(state, bs, ctx, { held: state.aio.of(bs) });
  if (refusal !== undefined && args["fixed-iothread"] === true) fail(refusal);
}

/** `blk_set_allow_aio_context_change(blk, !fixed_iothread)` for the export's BlockBackend. */
export function exportBackendPinning(state: LayerState, bb: BlockBackend, args: Record<string, unknown>): void {
  if (args["fixed-iothread"] === true) state.aio.pin(bb);
}
