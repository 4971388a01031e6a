import { BlockcheckError } from "../errors.js";

/** Graphviz could not draw a graph. The DOT is ours, so this is a bug in blockcheck, not the user's mistake. */
export class PictureError extends BlockcheckError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("E_PICTURE", message, options);
  }
}
