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
  /**
   * The errno the failing QEMU function returns beside its message, where a caller without an errp
   * (a block job's blk_truncate) goes on with the return value alone.
   */
  errno?: number;

  constructor(desc: string, errorClass = "GenericError") {
    // No stack trace: a refused command is an outcome, not a bug, and scenarios are made of them
    // (every `-> error`); capturing the stack was most of what raising one cost.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super("E_MODEL_QMP", desc);
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.body = { class: errorClass, desc };
  }
}

/** Shorthand for the common GenericError. */
export function fail(desc: string): never {
  throw new QmpFailure(desc);
}

/** `error_setg(errp, desc); return -errno;`: a GenericError that also carries the return value. */
export function failErrno(desc: string, errno: number): never {
  const failure = new QmpFailure(desc);
  failure.errno = errno;
  throw failure;
}
