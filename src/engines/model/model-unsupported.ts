/**
 * What the model has not built: a QMP command, a driver, an object type or a feature QEMU 7.2 has.
 * Answering it with an invented QMP error would be a transcript QEMU never writes; it is a runner
 * error instead (E_MODEL_UNSUPPORTED), as a data path the model cannot follow is (ModelIoUnsupportedError).
 * A scenario that needs it says so with `require engine qemu` (or `require driver` for a driver).
 */
import { BlockcheckError } from "../../errors.js";

export class ModelUnsupportedError extends BlockcheckError {
  constructor(what: string) {
    super("E_MODEL_UNSUPPORTED", `the model engine does not implement ${what}`);
  }
}
