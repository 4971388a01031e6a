/**
 * `bdrv_reopen_set_read_only` → `bdrv_reopen(bs, {read-only}, keep_old_opts=true)`: the block layer
 * reopening a node itself (a job making its base writable, and read-only again at the end). Only
 * the read-only flag changes; the node and its inline children keep their other options. The
 * whole subtree is drained meanwhile.
 */
import { withSubtreeDrained } from "../drain.js";
import type { BdsNode } from "../graph.js";
import type { LayerState } from "../layer-state.js";
import { QmpFailure } from "../qmp-failure.js";
import { ReopenQueue } from "./queue.js";
import { reopenMultiple } from "./reopen-multiple.js";

/** Throws the reopen's QmpFailure (nothing changed then). */
export function reopenSetReadOnly(state: LayerState, bs: BdsNode, readOnly: boolean): void {
  withSubtreeDrained(state, [bs], () => {
    const queue = new ReopenQueue();
    queue.add(bs, { "read-only": readOnly }, true, null, 0);
    reopenMultiple(state, queue);
  });
}

/** The same where QEMU ignores the outcome (`bdrv_reopen_set_read_only(…, NULL)`). */
export function reopenSetReadOnlyQuietly(state: LayerState, bs: BdsNode, readOnly: boolean): void {
  try {
    reopenSetReadOnly(state, bs, readOnly);
  } catch (e) {
    if (!(e instanceof QmpFailure)) throw e;
  }
}
