import type { LayerState } from "../layer-state.js";

/**
 * One QMP command of the model: gets schema-valid arguments, returns the `return` value (built in
 * QAPI member order; the dispatcher reorders keys as QEMU's QDict prints them) or throws QmpFailure.
 */
export type CommandHandler = (state: LayerState, args: Record<string, unknown>) => unknown;
