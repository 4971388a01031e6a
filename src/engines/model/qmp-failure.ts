import { BlockcheckError } from "../../errors.js";
import type { QmpErrorBody } from "../engine.js";

/**
 * A QMP error raised inside the model (QEMU's `error_setg`). The command dispatcher turns it into an
 * `{error}` reply; it never escapes the model engine.
 */
export class QmpFailure extends BlockcheckError {
  readonly body: QmpErrorBody;
  /**
   * `error_append_hint` text, without its final newline: QMP replies drop it, but
   * `error_report_err` prints it after the message (HMP qemu-io's permission failures).
   */
  hint?: string;

  constructor(desc: string, errorClass = "GenericError") {
    super("E_MODEL_QMP", desc);
    this.body = { class: errorClass, desc };
  }
}

/** Shorthand for the common GenericError. */
export function fail(desc: string): never {
  throw new QmpFailure(desc);
}
