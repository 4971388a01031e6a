import { BlockcheckError } from "../../../errors.js";
import { ImageCreateError } from "../../errors.js";

/**
 * The image file could not be opened or read. `errno` is the system error code ("ENOENT", "EACCES",
 * "EISDIR"), from which the model builds QEMU's "Could not open '%s': %s".
 */
export class ImageReadError extends BlockcheckError {
  constructor(
    readonly path: string,
    readonly errno: string,
    options?: { cause?: unknown },
  ) {
    super("E_IMAGE_READ", `cannot read image '${path}': ${errno}`, options);
  }
}

/**
 * The file has the qcow2 magic but a header QEMU 7.2 rejects; `message` is QEMU's own text (e.g.
 * "Unsupported qcow2 version 4"), so the model can reply with it unchanged.
 */
export class ImageFormatError extends BlockcheckError {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super("E_IMAGE_FORMAT", message);
  }
}

/**
 * What qcow2_do_open refuses in the header past its first fields (an extension, a table, a
 * feature); `message` is QEMU's own text, the open's error.
 */
export class Qcow2HeaderRefusal extends BlockcheckError {
  constructor(message: string) {
    super("E_IMAGE_FORMAT", message);
  }
}

/** An image that cannot be created as asked (e.g. a backing file on a raw image), in qemu-img's words. */
export class ImageSpecError extends ImageCreateError {
  constructor(message: string) {
    super("E_IMAGE_SPEC", message);
  }
}

/**
 * A refusal the format's driver makes only after it had the protocol create the file
 * (`bdrv_co_create_file`: the file is made and cut to nothing first): qemu-img fails, and leaves
 * that empty file behind, in place of whatever the path held.
 */
export class ImageRefusedAfterCreateError extends ImageSpecError {}
