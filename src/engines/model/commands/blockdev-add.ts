/** blockdev-add (`qmp_blockdev_add` → `bds_tree_init` → `bdrv_open`). */
import type { LayerState } from "../layer-state.js";
import { NodeOpener } from "../open-node.js";
import { flatten, setDefault } from "../options.js";
import { inOutputOrder } from "../../../qapi/output-order.js";
import { fail } from "../qmp-failure.js";
import { runInTransaction } from "../transaction.js";
import type { CommandHandler } from "./handler.js";

export const blockdevAdd: CommandHandler = (state: LayerState, args) => {
  // qmp_blockdev_add visits the parsed BlockdevOptions back into a QDict, then flattens it.
  const options = flatten(inOutputOrder("blockdev-add", args));
  if (typeof options["node-name"] !== "string") fail("'node-name' must be specified for the root node");
  // bds_tree_init's defaults become explicit options of the root.
  setDefault(options, "cache.direct", "off");
  setDefault(options, "cache.no-flush", "off");
  setDefault(options, "read-only", "off");
  runInTransaction((tran) => {
    const node = new NodeOpener(state, tran).open({ options, parent: null, parentOptions: null, role: 0 });
    node.monitorOwned = true;
  });
  return {};
};
