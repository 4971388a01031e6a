/**
 * block-commit (blockdev.c `qmp_block_commit`): find the device, top and base with QEMU's checks
 * and messages in its order, then start an active commit (a mirror into base) when top is the
 * active layer or someone writes to it, else a commit of an intermediate node.
 */
import { acquireNodeContext } from "../aio-context/iothread-objects.js";
import { chainContains, filterOrCowBs, findBase, findOverlay, isRootNode, skipFilters } from "../chain.js";
import { findBackingImage } from "../find-backing-image.js";
import type { BdsNode } from "../graph.js";
import { commitStart } from "../jobs/commit.js";
import { jobFlags } from "../jobs/job-args.js";
import { commitActiveStart } from "../jobs/mirror.js";
import type { LayerState } from "../layer-state.js";
import { checkOpNotBlocked } from "../op-blockers.js";
import { cumulativePerms } from "../perm-refresh.js";
import { BLK_PERM_WRITE } from "../perms.js";
import { fail, QmpFailure } from "../qmp-failure.js";
import { FilenameCache } from "../query/filename.js";
import type { CommandHandler } from "./handler.js";

/** `bdrv_lookup_bs(NULL, name)`. */
export function lookupNode(state: LayerState, name: string): BdsNode {
  return state.nodes.get(name) ?? fail(`Cannot find device='' nor node-name='${name}'`);
}

/** `qmp_get_root_bs`: a node used by nothing but BlockBackends (and with a medium). */
export function getRootBs(state: LayerState, name: string): BdsNode {
  const bs = state.nodes.get(name) ?? fail(`Cannot find device='${name}' nor node-name='${name}'`);
  if (!isRootNode(bs)) fail("Need a root block node");
  return bs;
}

export const blockCommit: CommandHandler = (state, args) => {
  const device = String(args["device"]);
  const str = (k: string) => (typeof args[k] === "string" ? (args[k] as string) : null);
  const flags = jobFlags(args);
  const speed = typeof args["speed"] === "number" ? args["speed"] : 0;
  const filterNodeName = str("filter-node-name");

  // libvirt probes for live commit by the DeviceNotFound class: the lookup comes first.
  let bs: BdsNode;
  try {
    bs = getRootBs(state, device);
  } catch (e) {
    if (!(e instanceof QmpFailure)) throw e;
    if (!state.nodes.has(device)) throw new QmpFailure(`Device '${device}' not found`, "DeviceNotFound");
    throw e;
  }
  acquireNodeContext(state, bs);
  checkOpNotBlocked(bs, "commit-source");

  let topBs: BdsNode | null = bs;
  const topNode = str("top-node");
  const top = str("top");
  if (topNode !== null && "top" in args) fail("'top-node' and 'top' are mutually exclusive");
  if (topNode !== null) {
    topBs = lookupNode(state, topNode);
    if (!chainContains(bs, topBs)) fail(`'${topNode}' is not in this backing file chain`);
  } else if (top !== null) {
    // Only a shortcut: a filename that matches needs no search.
    if (new FilenameCache().filename(bs) !== top) topBs = findBackingImage(state.workdir, state.hostFiles, bs, top);
  }
  if (topBs === null) fail(`Top image file ${top ?? "NULL"} not found`);

  let baseBs: BdsNode | null;
  const baseNode = str("base-node");
  const base = str("base");
  if (baseNode !== null && "base" in args) fail("'base-node' and 'base' are mutually exclusive");
  if (baseNode !== null) {
    baseBs = lookupNode(state, baseNode);
    if (!chainContains(topBs, baseBs)) fail(`'${baseNode}' is not in this backing file chain`);
  } else if (base !== null) {
    baseBs = findBackingImage(state.workdir, state.hostFiles, topBs, base);
    if (baseBs === null) fail(`Can't find '${base}' in the backing chain`);
  } else {
    baseBs = findBase(topBs);
    // (sic) QEMU 7.2's spelling.
    if (baseBs === null) fail("There is no backimg image");
  }

  for (let iter: BdsNode | null = topBs; iter && iter !== filterOrCowBs(baseBs); iter = filterOrCowBs(iter)) {
    checkOpNotBlocked(iter, "commit-target");
  }
  // Do not allow attempts to commit an image into itself.
  if (topBs === baseBs) fail("cannot commit an image into itself");

  // Active commit is needed exactly when someone writes to top (and always for the active layer).
  const [topPerm] = cumulativePerms(topBs);
  const activeLayer = skipFilters(topBs) === skipFilters(bs);
  if (topPerm & BLK_PERM_WRITE || activeLayer) {
    if ("backing-file" in args) {
      fail(activeLayer ? "'backing-file' specified, but 'top' is the active layer" : "'backing-file' specified, but 'top' has a writer on it");
    }
    // Named after bs even when top is another node (the device name: "" in qemu-storage-daemon).
    const jobId = str("job-id") ?? "";
    commitActiveStart(state, { jobId, bs: topBs, base: baseBs, flags, speed, filterNodeName });
  } else {
    const overlay = findOverlay(bs, topBs)!;
    checkOpNotBlocked(overlay, "commit-target");
    commitStart(state, { jobId: str("job-id"), bs, base: baseBs, top: topBs, flags, speed, backingFile: str("backing-file"), filterNodeName });
  }
  return {};
};
