/**
 * blockdev-mirror (blockdev.c `qmp_blockdev_mirror` → `blockdev_mirror_common`): the source must be
 * a root node; the target moves into the source's AioContext; then `blockdev_mirror_common`, shared
 * with drive-mirror: QEMU's checks in its order, `replaces` defaulting to the node under the
 * source's implicit filters, and mirror_start.
 */
import { acquireNodeContext } from "../aio-context/iothread-objects.js";
import { tryChangeAioContext } from "../aio-context/change-aio-context.js";
import { backingChainNext } from "../chain.js";
import { type BdsNode, skipImplicitFilters } from "../graph.js";
import { jobFlags } from "../jobs/job-args.js";
import { mirrorStart, recurseCanReplace, type MirrorBackingMode, type MirrorCopyMode, type MirrorStart } from "../jobs/mirror.js";
import type { LayerState } from "../layer-state.js";
import { nodeLength } from "../node-length.js";
import { checkOpNotBlocked } from "../op-blockers.js";
import { fail } from "../qmp-failure.js";
import { getRootBs } from "./block-commit.js";
import type { CommandHandler } from "./handler.js";

const MAX_GRANULARITY = 64 * 1048576;

export const blockdevMirror: CommandHandler = (state, args) => {
  const str = (k: string) => (typeof args[k] === "string" ? (args[k] as string) : null);
  const bs = getRootBs(state, String(args["device"]));
  const targetName = String(args["target"]);
  const target = state.nodes.get(targetName) ?? fail(`Cannot find device='${targetName}' nor node-name='${targetName}'`);
  // The target follows the source into its context first, with its own context's lock held; it
  // stays there whatever is refused after.
  acquireNodeContext(state, target);
  const refusal = tryChangeAioContext(state, target, state.aio.of(bs), { held: state.aio.of(target) });
  acquireNodeContext(state, bs);
  if (refusal !== undefined) fail(refusal);
  const sync = args["sync"] as MirrorStart["sync"];
  blockdevMirrorCommon(state, bs, target, args, { sync, backingMode: "leave", zeroTarget: sync === "full", unmap: true, filterNodeName: str("filter-node-name") });
  return {};
};

/** What the two commands decide before `blockdev_mirror_common`. */
export interface MirrorCommon {
  sync: MirrorStart["sync"];
  backingMode: MirrorBackingMode;
  zeroTarget: boolean;
  unmap: boolean;
  filterNodeName: string | null;
}

/** `blockdev_mirror_common`: QEMU's checks in its order, then mirror_start. */
export function blockdevMirrorCommon(state: LayerState, bs: BdsNode, target: BdsNode, args: Record<string, unknown>, c: MirrorCommon): void {
  const str = (k: string) => (typeof args[k] === "string" ? (args[k] as string) : null);
  let sync = c.sync;
  const granularity = typeof args["granularity"] === "number" ? args["granularity"] : 0;
  if (granularity !== 0 && (granularity < 512 || granularity > MAX_GRANULARITY)) fail("Parameter 'granularity' expects a value in range [512B, 64MB]");
  if (granularity & (granularity - 1)) fail("Parameter 'granularity' expects a power of 2");
  checkOpNotBlocked(bs, "mirror-source");
  checkOpNotBlocked(target, "mirror-target");
  if (!backingChainNext(bs) && sync === "top") sync = "full";

  let replaces = str("replaces");
  if (replaces === null) {
    // Mirror from bs, but keep implicit filters on top.
    const unfiltered = skipImplicitFilters(bs);
    if (unfiltered !== bs) replaces = unfiltered.name;
  }
  if (replaces !== null) {
    const bsSize = nodeLength(bs);
    const toReplace = checkToReplaceNode(state, bs, replaces);
    if (bsSize !== nodeLength(toReplace)) fail("cannot replace image with a mirror image of different size");
  }
  mirrorStart(state, {
    jobId: str("job-id"),
    bs,
    target,
    replaces,
    flags: jobFlags(args),
    speed: typeof args["speed"] === "number" ? args["speed"] : 0,
    granularity,
    bufSize: typeof args["buf-size"] === "number" ? args["buf-size"] : 0,
    sync,
    backingMode: c.backingMode,
    zeroTarget: c.zeroTarget,
    unmap: c.unmap,
    filterNodeName: c.filterNodeName,
    copyMode: (str("copy-mode") ?? "background") as MirrorCopyMode,
  });
}

/** `check_to_replace_node` (block.c). */
function checkToReplaceNode(state: LayerState, parent: BdsNode, name: string): BdsNode {
  const node = state.nodes.get(name) ?? fail(`Failed to find node with node-name='${name}'`);
  checkOpNotBlocked(node, "replace");
  // Only the topmost non-filter node may be replaced, so that no data changes abruptly.
  if (!recurseCanReplace(parent, node)) {
    fail(`Cannot replace '${name}' by a node mirrored from '${parent.name}', because it cannot be guaranteed that doing so would not lead to an abrupt change of visible data`);
  }
  return node;
}
