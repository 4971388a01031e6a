import { BlockcheckError } from "../../errors.js";
import type { QmpErrorBody } from "../engine.js";

/**
 * A QMP error raised inside the model (QEMU's `error_setg`). The command dispatcher turns it into an
 * `{error}` reply; it never escapes the model engine.
 */
export class QmpFailure extends BlockcheckError {
  readonly body: QmpErrorBody;

  constructor(desc: string, errorClass = "GenericError") {
    super("E_MODEL_QMP", desc);
    this.body = { class: errorClass, desc };
  }
}

/** Shorthand for the common GenericError. */
export function fail(desc: string): never {
  throw new QmpFailure(desc);
}
