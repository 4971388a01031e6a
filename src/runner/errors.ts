import { BlockcheckError } from "../errors.js";
import type { Location } from "../language/ast.js";

/**
 * A statement that cannot be turned into engine commands: an image path leaving the scratch
 * directory, an implicit-node path that does not resolve, a value of the wrong kind. Located at the
 * statement (or value) to blame.
 */
export class StepError extends BlockcheckError {
  readonly location: Location;

  constructor(message: string, location: Location, options?: { cause?: unknown }) {
    super("E_STEP", message, options);
    this.location = location;
  }
}

/** A scenario run took longer than its timeout; the engine was stopped. */
export class ScenarioTimeoutError extends BlockcheckError {
  constructor(readonly timeoutMs: number) {
    super("E_TIMEOUT", `timed out after ${timeoutMs / 1000}s`);
  }
}
