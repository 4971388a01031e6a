import type { LayerState } from "../layer-state.js";

/**
 * One QMP command of the model: gets schema-valid arguments, returns the `return` value (built in
 * QAPI member order; the dispatcher reorders keys as QEMU's QDict prints them) or throws QmpFailure.
 * `raw` is the arguments as sent, doubles still marked as such (QmpFloat), for a command that
 * visits an `any` value itself.
 */
export type CommandHandler = (state: LayerState, args: Record<string, unknown>, raw?: Record<string, unknown>) => unknown;
