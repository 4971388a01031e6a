/** `qcow2`: format driver with `file`, optional `data-file` and a `backing` (COW) child. */
import { readImage, type Qcow2Header } from "../images/read-image.js";
import { type BdsNode, childNamed } from "../graph.js";
import { fail } from "../qmp-failure.js";
import { ROLE_DATA, ROLE_IMAGE } from "../roles.js";
import type { DriverDef } from "./driver.js";
import { formatOf } from "./underlying.js";

/** Driver state of a qcow2 node. */
export interface Qcow2State {
  header: Qcow2Header;
  allocated: number;
}

const RUNTIME_OPTS = [
  "lazy-refcounts",
  "pass-discard-request",
  "pass-discard-snapshot",
  "pass-discard-other",
  "overlap-check",
  "cache-size",
  "l2-cache-size",
  "l2-cache-entry-size",
  "refcount-cache-size",
  "cache-clean-interval",
];

function readHeader(node: BdsNode): Qcow2State {
  const child = childNamed(node, "file");
  const file = child ? formatOf(child.bs) : null;
  if (!file) fail("Image is not in qcow2 format");
  const info = readImage(file.absPath);
  if (!info.qcow2) fail("Image is not in qcow2 format");
  return { header: info.qcow2, allocated: info.allocated };
}

export function qcow2State(node: BdsNode): Qcow2State {
  return node.state as unknown as Qcow2State;
}

export const qcow2Driver: DriverDef = {
  name: "qcow2",
  protocol: false,
  isFilter: false,
  isFormat: true,
  supportsBacking: true,
  supportsReopen: true,
  mutableOpts: [...RUNTIME_OPTS, "overlap-check.template", "overlap-check.main-header"],
  reopenOpts: RUNTIME_OPTS,

  open(ctx) {
    const file = ctx.openChild("file", ROLE_IMAGE, false)!;
    const st = readHeader(ctx.node);
    ctx.node.state = st as unknown as Record<string, unknown>;
    ctx.node.size = st.header.virtualSize;
    ctx.node.backingFile = st.header.backingFile;
    ctx.node.autoBackingFile = st.header.backingFile;
    let dataFile = ctx.openChild("data-file", ROLE_DATA, true);
    if (!st.header.externalDataFile) {
      if (dataFile) fail("'data-file' can only be set for images with an external data file");
      return;
    }
    // The header's name is opened as given: QEMU resolves it against its working directory, not
    // against the image's directory as it does for backing files.
    if (!dataFile && st.header.dataFile !== "") dataFile = ctx.openChildFromFile("data-file", ROLE_DATA, st.header.dataFile);
    if (!dataFile) fail("'data-file' is required for this image");
    // The file child keeps only metadata now.
    ctx.setChildRole(file, file.role & ~ROLE_DATA);
  },
};
