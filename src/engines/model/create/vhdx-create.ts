/**
 * VHDX's `vhdx_co_create` (block/vhdx.c) for blockdev-create: its checks of the sizes as given
 * (qemu-img rounds log and block sizes up to whole MiB first), in its order, before the file node
 * is opened; then the image qemu-img writes (images/vhdx-create.ts, its random GUIDs and sequence
 * numbers zeros), on a file node whose file is empty as qemu-img's is. Over a file with data, the
 * truncations of vhdx_create_bat would leave what the model does not follow: E_MODEL_UNSUPPORTED.
 */
import type { ImageSpec } from "../../engine.js";
import { Errno } from "../data/io-error.js";
import { bdrvTruncate } from "../data/truncate.js";
import { vhdxImage } from "../images/vhdx-create.js";
import { VHDX_BLOCK_SIZE_MAX, VHDX_MAX_IMAGE_SIZE } from "../images/vhdx-format.js";
import type { LayerState } from "../layer-state.js";
import { ModelUnsupportedError } from "../model-unsupported.js";
import { nodeLength } from "../node-length.js";
import { QemuAbort } from "../qemu-would-crash.js";
import { createFail } from "./create-failure.js";
import { uint64Of } from "./qapi-sizes.js";
import { CreateAbortsAfterFirstRequest, openRef, requireFileDriver, withCreateBackend, writeLayoutOn } from "./create-on-node.js";

const MiB = 1 << 20;

export function vhdxCreate(state: LayerState, opts: Record<string, unknown>): void {
  if (uint64Of(opts["size"]) > BigInt(VHDX_MAX_IMAGE_SIZE)) createFail("Image size too large; max of 64TB", Errno.EINVAL);
  const size = Number(opts["size"]);
  if (opts["log-size"] !== undefined && uint64Of(opts["log-size"]) > 0xffffffffn) createFail("Log size must be smaller than 4 GB", Errno.EINVAL);
  const logSize = opts["log-size"] === undefined ? undefined : Number(opts["log-size"]);
  if (logSize !== undefined && (logSize < MiB || logSize % MiB !== 0)) createFail("Log size must be a multiple of 1 MB", Errno.EINVAL);
  const subformat = (opts["subformat"] as string | undefined) ?? "dynamic";
  // block_size is a uint32_t: the member's high bits are cut off.
  const blockSize = opts["block-size"] === undefined ? undefined : Number(BigInt.asUintN(32, uint64Of(opts["block-size"])));
  if (blockSize !== undefined) {
    if (blockSize < MiB || blockSize % MiB !== 0) createFail("Block size must be a multiple of 1 MB", Errno.EINVAL);
    if ((blockSize & (blockSize - 1)) !== 0) createFail("Block size must be a power of two", Errno.EINVAL);
    if (blockSize > VHDX_BLOCK_SIZE_MAX) createFail(`Block size must not exceed ${VHDX_BLOCK_SIZE_MAX}`, Errno.EINVAL);
  }
  const createOptions: [string, string][] = [["subformat", subformat]];
  if (logSize !== undefined) createOptions.push(["log_size", String(logSize)]);
  if (blockSize !== undefined) createOptions.push(["block_size", String(blockSize)]);
  if (opts["block-state-zero"] !== undefined) createOptions.push(["block_state_zero", opts["block-state-zero"] ? "on" : "off"]);
  const spec: ImageSpec = { path: "", format: "vhdx", size, createOptions };
  const bs = openRef(state, opts["file"]);
  withCreateBackend(state, bs, (blk) => {
    requireFileDriver(bs, "vhdx", "file");
    if (nodeLength(bs) !== 0) throw new ModelUnsupportedError("blockdev-create of vhdx on a file that is not empty");
    // vhdx_create_new_headers writes past its BlockBackend through the node's first parent edge,
    // and asserts that it is the only one, after the signature's write has yielded.
    if (bs.parents.some((c) => c !== blk.root)) {
      throw new CreateAbortsAfterFirstRequest(new QemuAbort("SIGABRT", "../../block/vhdx.c:1530: vhdx_create_new_headers: Assertion `!QLIST_NEXT(child, next_parent)' failed."));
    }
    const layout = vhdxImage(spec, size);
    writeLayoutOn(state, bs, layout);
    if (layout.length > nodeLength(bs)) bdrvTruncate(state, bs, layout.length, false, "off", 0);
  });
}
