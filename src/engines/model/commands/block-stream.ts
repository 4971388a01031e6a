/** block-stream (blockdev.c `qmp_block_stream`): QEMU's argument checks in its order, then stream_start. */
import { acquireNodeContext } from "../aio-context/iothread-objects.js";
import { chainContains, filterOrCowBs } from "../chain.js";
import { findBackingImage } from "../find-backing-image.js";
import type { BdsNode } from "../graph.js";
import { jobFlags } from "../jobs/job-args.js";
import { streamStart } from "../jobs/stream.js";
import { checkOpNotBlocked } from "../op-blockers.js";
import { fail } from "../qmp-failure.js";
import { lookupNode } from "./block-commit.js";
import type { CommandHandler } from "./handler.js";

export const blockStream: CommandHandler = (state, args) => {
  const str = (k: string) => (typeof args[k] === "string" ? (args[k] as string) : null);
  const has = (k: string) => k in args;
  if (has("base") && has("base-node")) fail("'base' and 'base-node' cannot be specified at the same time");
  if (has("base") && has("bottom")) fail("'base' and 'bottom' cannot be specified at the same time");
  if (has("bottom") && has("base-node")) fail("'bottom' and 'base-node' cannot be specified at the same time");
  const device = String(args["device"]);
  const bs = state.nodes.get(device) ?? fail(`Cannot find device='${device}' nor node-name='${device}'`);
  acquireNodeContext(state, bs);

  let baseBs: BdsNode | null = null;
  const base = str("base");
  if (base !== null) {
    baseBs = findBackingImage(state.workdir, state.hostFiles, bs, base);
    if (baseBs === null) fail(`Can't find '${base}' in the backing chain`);
  }
  const baseNode = str("base-node");
  if (baseNode !== null) {
    baseBs = lookupNode(state, baseNode);
    if (bs === baseBs || !chainContains(bs, baseBs)) fail(`Node '${baseNode}' is not a backing image of '${device}'`);
  }
  let bottomBs: BdsNode | null = null;
  const bottom = str("bottom");
  if (bottom !== null) {
    bottomBs = lookupNode(state, bottom);
    if (bottomBs.driver.isFilter) fail(`Node '${bottom}' is a filter, use a non-filter node as 'bottom'`);
    if (!chainContains(bs, bottomBs)) fail(`Node '${bottom}' is not in a chain starting from '${device}'`);
  }

  // Op blockers on the whole chain between bs and base (or bottom).
  const iterEnd = bottomBs ? filterOrCowBs(bottomBs) : baseBs;
  for (let iter: BdsNode | null = bs; iter && iter !== iterEnd; iter = filterOrCowBs(iter)) checkOpNotBlocked(iter, "stream");

  // Streaming the entire chain leaves no backing file, so naming one is an error.
  if (baseBs === null && has("backing-file")) fail("backing file specified, but streaming the entire chain");

  streamStart(state, {
    jobId: str("job-id"),
    bs,
    base: baseBs,
    backingFile: str("backing-file"),
    bottom: bottomBs,
    flags: jobFlags(args),
    speed: typeof args["speed"] === "number" ? args["speed"] : 0,
    filterNodeName: str("filter-node-name"),
  });
  return {};
};
