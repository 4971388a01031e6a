/**
 * The target of drive-backup and drive-mirror: `bdrv_open(target, NULL, options, bs->open_flags |
 * BDRV_O_RDWR)` with the source's open flags; the caller holds the one reference.
 */
import type { BdsNode } from "../graph.js";
import { bdrvRef } from "../graph-ops.js";
import type { LayerState } from "../layer-state.js";
import { ModelUnsupportedError } from "../model-unsupported.js";
import { NodeOpener, openFlagsOf } from "../open-node.js";
import { optBool } from "../options.js";
import { runInTransaction } from "../transaction.js";

export function openCopyTarget(
  state: LayerState,
  command: "drive-backup" | "drive-mirror",
  bs: BdsNode,
  file: string,
  options: Record<string, unknown>,
): BdsNode {
  // The source's BDRV_O_COPY_ON_READ would turn copy-on-read on in the target too.
  if (optBool(bs.options["copy-on-read"]) === true) throw new ModelUnsupportedError(`${command} of a node with copy-on-read=on`);
  const held = state.aio.of(bs);
  return runInTransaction((tran) => {
    const opener = new NodeOpener(state, tran, held);
    // find_image_format: the format the file's first bytes say.
    const probed = options["driver"] === null;
    if (probed) options = { ...options, driver: opener.probedFormat(file) };
    const target = opener.open({
      options,
      parent: null,
      parentOptions: null,
      role: 0,
      filename: file,
      flags: openFlagsOf(bs, false),
      probed,
    });
    bdrvRef(target);
    return target;
  });
}
