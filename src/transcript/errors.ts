import { BlockcheckError } from "../errors.js";

/** An engine answered a query the transcript needs with something that is not the QEMU 7.2 shape. */
export class TranscriptError extends BlockcheckError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("E_TRANSCRIPT", message, options);
  }
}
