/** blockdev-reopen (`qmp_blockdev_reopen` → `bdrv_reopen_queue` → `bdrv_reopen_multiple`). */
import { acquireNodeContext } from "../aio-context/iothread-objects.js";
import { bdrvSubtreeDrainedBegin, bdrvSubtreeDrainedEnd } from "../drain.js";
import type { BdsNode } from "../graph.js";
import type { LayerState } from "../layer-state.js";
import { flatten } from "../options.js";
import { inOutputOrder } from "../../../qapi/output-order.js";
import { QemuWouldCrashError } from "../qemu-would-crash.js";
import { fail } from "../qmp-failure.js";
import { ReopenQueue } from "../reopen/queue.js";
import { reopenMultiple, stopsThere } from "../reopen/reopen-multiple.js";
import type { CommandHandler } from "./handler.js";

/**
 * Each queued node's section ends under the lock of the context the node is in now: a reopen
 * that moved it into a deleted iothread's context aborts there, once the reopen is over.
 */
function endDrains(state: LayerState, queued: ReadonlyArray<{ bs: BdsNode; drained: boolean }>): void {
  for (const { bs, drained } of queued) {
    if (bs.freed) continue;
    acquireNodeContext(state, bs);
    if (drained) bdrvSubtreeDrainedEnd(bs);
  }
}

export const blockdevReopen: CommandHandler = (state, args) => {
  // Each entry is visited back into a QDict from the parsed BlockdevOptions, then flattened.
  const list = (inOutputOrder("blockdev-reopen", args)["options"] ?? []) as Array<Record<string, unknown>>;
  if (list.length === 0) {
    // qmp_blockdev_reopen hands bdrv_reopen_multiple an empty (NULL) queue, which it asserts against
    // (seen on Debian's qemu-storage-daemon 7.2.22, whose block.c has it at line 4390).
    throw new QemuWouldCrashError("blockdev-reopen", "SIGABRT", "../../block.c:4390: bdrv_reopen_multiple: Assertion `bs_queue != NULL' failed.");
  }
  const queue = new ReopenQueue();
  // Each node is drained (with everything below it) while it is queued and until the reopen is
  // over, so a job using one of them pauses meanwhile; the sections end newest first.
  const queued: Array<{ bs: BdsNode; drained: boolean }> = [];
  try {
    for (const item of list) {
      const name = item["node-name"];
      if (typeof name !== "string") fail("node-name not specified");
      const bs = state.nodes.get(name) ?? fail(`Failed to find node with node-name='${name}'`);
      acquireNodeContext(state, bs);
      const taken = bdrvSubtreeDrainedBegin(state, bs);
      queue.add(bs, flatten(item), false, null, 0);
      queued.unshift({ bs, drained: taken });
    }
    reopenMultiple(state, queue);
  } catch (e) {
    // Where QEMU died (a drain callback's poll in tran_abort), its sections never end.
    if (!stopsThere(e)) endDrains(state, queued);
    throw e;
  }
  endDrains(state, queued);
  return {};
};
