import { BlockcheckError } from "../errors.js";

/** An engine answered a graph query with something that is not the QEMU 7.2 shape. */
export class GraphReplyError extends BlockcheckError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("E_GRAPH_REPLY", message, options);
  }
}
