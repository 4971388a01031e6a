/**
 * change-backing-file (blockdev.c `qmp_change_backing_file`): write a new backing file name into
 * the header of an image in a root node's chain, without touching the graph. QEMU records the
 * image's own format as the backing format (it passes `image_bs->drv->format_name`), whatever the
 * backing node is.
 */
import { acquireNodeContext } from "../aio-context/iothread-objects.js";
import { bdrvChangeBackingFile } from "../change-backing.js";
import { chainContains, findBase } from "../chain.js";
import { strerror } from "../data/io-error.js";
import { checkOpNotBlocked } from "../op-blockers.js";
import { ERROR_SETV, qemuAssert } from "../qemu-would-crash.js";
import { fail, QmpFailure } from "../qmp-failure.js";
import { reopenSetReadOnly } from "../reopen/set-read-only.js";
import { getRootBs, lookupNode } from "./block-commit.js";
import type { CommandHandler } from "./handler.js";

export const changeBackingFile: CommandHandler = (state, args) => {
  const device = String(args["device"]);
  const imageNodeName = String(args["image-node-name"]);
  const backingFile = String(args["backing-file"]);

  const bs = getRootBs(state, device);
  acquireNodeContext(state, bs);
  const imageBs = lookupNode(state, imageNodeName);
  if (findBase(imageBs) === imageBs) fail("not allowing backing file change on an image without a backing file");
  // Checked on the device, not on the image: a job on the chain blocks it there.
  checkOpNotBlocked(bs, "change");
  if (!chainContains(bs, imageBs)) fail(`'${device}' and image file are not in the same chain`);

  const readOnly = imageBs.readOnly;
  if (readOnly) reopenSetReadOnly(state, imageBs, false);
  const ret = bdrvChangeBackingFile(imageBs, backingFile, imageBs.driver.name, false);
  // QEMU does not stop at a failed change: it makes the node read-only again first, with the same
  // errp, so a second error on top of the first trips error_setv's assertion.
  const failure = ret < 0 ? new QmpFailure(`Could not change backing file to '${backingFile}': ${strerror(-ret)}`) : undefined;
  if (readOnly) {
    try {
      reopenSetReadOnly(state, imageBs, true);
    } catch (e) {
      if (e instanceof QmpFailure && failure) qemuAssert(ERROR_SETV, "*errp == NULL");
      throw e;
    }
  }
  if (failure) throw failure;
  return {};
};
