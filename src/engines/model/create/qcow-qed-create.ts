/**
 * The `bdrv_co_create` of qcow (block/qcow.c `qcow_co_create`) and QED (block/qed.c
 * `bdrv_qed_co_create`) for blockdev-create: their checks come before the `file` node is opened,
 * then they write the same pieces as for `qemu-img create` (images/qcow-create.ts, qed-create.ts)
 * through a BlockBackend of their own. qcow writes over what the file holds; QED truncates it to
 * nothing first, as its file length tells what is allocated.
 */
import type { ImageSpec } from "../../engine.js";
import { bdrvTruncate } from "../data/truncate.js";
import { Errno } from "../data/io-error.js";
import { ImageRefusedAfterCreateError } from "../images/image-errors.js";
import type { ImageLayout } from "../images/image-layout.js";
import { qcowImage } from "../images/qcow-create.js";
import { qedImage } from "../images/qed-create.js";
import type { LayerState } from "../layer-state.js";
import { ModelUnsupportedError } from "../model-unsupported.js";
import { createFail } from "./create-failure.js";
import { uint64Of } from "./qapi-sizes.js";
import { openRef, requireFileDriver, withCreateBackend, writeLayoutOn } from "./create-on-node.js";

/** The writer's layout; its refusals are the driver's checks, which fail with -EINVAL. */
function layoutOrFail(make: () => ImageLayout): ImageLayout {
  try {
    return make();
  } catch (e) {
    if (e instanceof ImageRefusedAfterCreateError) createFail(e.message, Errno.EINVAL);
    throw e;
  }
}

function spec(format: string, opts: Record<string, unknown>, createOptions?: ImageSpec["createOptions"]): ImageSpec {
  const s: ImageSpec = { path: "", format, size: Number(uint64Of(opts["size"])) };
  if (opts["backing-file"] !== undefined) s.backingFile = String(opts["backing-file"]);
  if (opts["backing-fmt"] !== undefined) s.backingFormat = String(opts["backing-fmt"]);
  if (createOptions) s.createOptions = createOptions;
  return s;
}

export function qcowCreate(state: LayerState, opts: Record<string, unknown>): void {
  const size = uint64Of(opts["size"]);
  if (size === 0n) createFail("Image size is too small, cannot be zero length", Errno.EINVAL);
  const encrypt = opts["encrypt"] as Record<string, unknown> | undefined;
  if (encrypt !== undefined && encrypt["format"] !== "qcow") createFail("Unsupported encryption format", Errno.EINVAL);
  // vvfat's special backing file is dropped, but the clusters stay those of an image with one.
  if (opts["backing-file"] === "fat:") throw new ModelUnsupportedError("blockdev-create of qcow with the backing file 'fat:'");
  const layout = layoutOrFail(() => qcowImage(spec("qcow", opts), size));
  const bs = openRef(state, opts["file"]);
  withCreateBackend(state, bs, () => {
    if (encrypt !== undefined) throw new ModelUnsupportedError("blockdev-create of an encrypted qcow image");
    requireFileDriver(bs, "qcow", "file");
    writeLayoutOn(state, bs, layout);
  });
}

export function qedCreate(state: LayerState, opts: Record<string, unknown>): void {
  // Compared as the uint64_t it is (Number is near enough to tell it too large).
  const size = Number(uint64Of(opts["size"]));
  // QEDHeader keeps the low 32 bits of both.
  const low32 = (v: unknown) => String(BigInt.asUintN(32, BigInt(Number(v))));
  const options: [string, string][] = [];
  if (opts["cluster-size"] !== undefined) options.push(["cluster_size", low32(opts["cluster-size"])]);
  if (opts["table-size"] !== undefined) options.push(["table_size", low32(opts["table-size"])]);
  const layout = layoutOrFail(() => qedImage(spec("qed", opts, options), size));
  const bs = openRef(state, opts["file"]);
  withCreateBackend(state, bs, () => {
    requireFileDriver(bs, "qed", "file");
    bdrvTruncate(state, bs, 0, true, "off", 0);
    writeLayoutOn(state, bs, layout);
  });
}
