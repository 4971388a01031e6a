/** blockdev-reopen (`qmp_blockdev_reopen` → `bdrv_reopen_queue` → `bdrv_reopen_multiple`). */
import { flatten } from "../options.js";
import { fail } from "../qmp-failure.js";
import { ReopenQueue } from "../reopen/queue.js";
import { reopenMultiple } from "../reopen/reopen-multiple.js";
import type { CommandHandler } from "./handler.js";

export const blockdevReopen: CommandHandler = (state, args) => {
  const list = (args["options"] ?? []) as Array<Record<string, unknown>>;
  if (list.length === 0) {
    // QEMU 7.2 aborts on an empty list (assertion bs_queue != NULL); the model refuses instead.
    fail("blockdev-reopen with an empty list would abort QEMU 7.2 (assertion 'bs_queue != NULL')");
  }
  const queue = new ReopenQueue();
  for (const item of list) {
    const name = item["node-name"];
    if (typeof name !== "string") fail("node-name not specified");
    const bs = state.nodes.get(name) ?? fail(`Failed to find node with node-name='${name}'`);
    queue.add(bs, flatten(item), false, null, 0);
  }
  reopenMultiple(state, queue);
  return {};
};
