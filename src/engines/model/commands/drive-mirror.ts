/**
 * drive-mirror (blockdev.c `qmp_drive_mirror`): the source must be a root node that may be a
 * mirror's source; unless `mode` is `existing` the target image is created (`bdrv_img_create`,
 * without a backing file for sync=full or a source without one, else over the source's backing
 * node, or the source itself for sync=none); it is opened with the source's open flags, writable and
 * without its backing chain, named `node-name` (needed with `replaces`), moved into the source's
 * AioContext, and given to `blockdev_mirror_common`. When the job ends well, the target's backing
 * becomes the source's base (absolute-paths) or the file its header names (existing). The job holds
 * the target: an auto-named node unless `node-name` named it.
 */
import { acquireNodeContext } from "../aio-context/iothread-objects.js";
import { tryChangeAioContext } from "../aio-context/change-aio-context.js";
import { cowBs, skipFilters } from "../chain.js";
import { bdrvImgCreate } from "../create/img-create.js";
import { skipImplicitFilters } from "../graph.js";
import { bdrvUnref } from "../graph-ops.js";
import { hasZeroInit } from "../has-zero-init.js";
import type { MirrorStart } from "../jobs/mirror.js";
import { nodeLength } from "../node-length.js";
import { checkOpNotBlocked } from "../op-blockers.js";
import { FilenameCache } from "../query/filename.js";
import { fail } from "../qmp-failure.js";
import { getRootBs } from "./block-commit.js";
import { blockdevMirrorCommon } from "./blockdev-mirror.js";
import type { CommandHandler } from "./handler.js";
import { openCopyTarget } from "./open-copy-target.js";

export const driveMirror: CommandHandler = (state, args) => {
  const str = (k: string) => (typeof args[k] === "string" ? (args[k] as string) : null);
  const bs = getRootBs(state, String(args["device"]));
  // Early, so that no target is created.
  checkOpNotBlocked(bs, "mirror-source");
  acquireNodeContext(state, bs);
  const mode = str("mode") ?? "absolute-paths";
  const format = str("format") ?? (mode === "existing" ? null : bs.driver.name);
  let sync = args["sync"] as MirrorStart["sync"];
  let targetBacking = cowBs(skipFilters(bs));
  if (!targetBacking && sync === "top") sync = "full";
  if (sync === "none") targetBacking = bs;
  const size = nodeLength(bs);
  const nodeName = str("node-name");
  if (str("replaces") !== null && nodeName === null) fail("a node-name must be provided when replacing a named node of the graph");

  const targetFile = String(args["target"]);
  if ((sync === "full" || !targetBacking) && mode !== "existing") {
    bdrvImgCreate(state, targetFile, format!, null, size, true);
  } else if (mode === "absolute-paths") {
    // Implicit filters do not appear in the name written into the header.
    const backing = skipImplicitFilters(targetBacking!);
    bdrvImgCreate(state, targetFile, format!, { file: new FilenameCache().filename(backing), format: backing.driver.name }, size, true);
  }

  // bs->open_flags | BDRV_O_RDWR | BDRV_O_NO_BACKING
  const target = openCopyTarget(state, "drive-mirror", bs, targetFile, {
    ...(nodeName !== null ? { "node-name": nodeName } : {}),
    driver: format,
    backing: null,
  });
  try {
    const zeroTarget = sync === "full" && (mode === "existing" || !hasZeroInit(target));
    const refusal = tryChangeAioContext(state, target, state.aio.of(bs), { held: state.aio.of(target) });
    if (refusal !== undefined) fail(refusal);
    blockdevMirrorCommon(state, bs, target, args, {
      sync,
      backingMode: mode === "absolute-paths" ? "source" : "open",
      zeroTarget,
      unmap: args["unmap"] !== false,
      filterNodeName: null,
    });
  } finally {
    bdrvUnref(state, target);
  }
  return {};
};
