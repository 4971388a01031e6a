/** block-set-write-threshold (block/write-threshold.c): the offset past which a write is announced once. */
import { acquireNodeContext } from "../aio-context/iothread-objects.js";
import { fail } from "../qmp-failure.js";
import type { CommandHandler } from "./handler.js";

export const blockSetWriteThreshold: CommandHandler = (state, args) => {
  const name = String(args["node-name"]);
  const bs = state.nodes.get(name) ?? fail(`Device '${name}' not found`);
  acquireNodeContext(state, bs);
  // A uint64: -1 has wrapped to 2^64 - 1 in the visitor; the node keeps its int64 view.
  const threshold = Number(args["write-threshold"]);
  bs.writeThreshold = threshold >= 2 ** 63 ? threshold - 2 ** 64 : threshold;
  return {};
};
