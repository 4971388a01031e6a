/** block-set-write-threshold (block/write-threshold.c): the offset past which a write is announced once. */
import { acquireNodeContext } from "../aio-context/iothread-objects.js";
import { fail } from "../qmp-failure.js";
import type { CommandHandler } from "./handler.js";

export const blockSetWriteThreshold: CommandHandler = (state, args) => {
  const name = String(args["node-name"]);
  const bs = state.nodes.get(name) ?? fail(`Device '${name}' not found`);
  acquireNodeContext(state, bs);
  bs.writeThreshold = Number(args["write-threshold"]);
  return {};
};
