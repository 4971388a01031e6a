/**
 * Where QEMU 7.2 never answers (a request queued behind a drained section that nothing will end,
 * a wait for an iothread that cannot run), the model cannot answer either: a made-up reply would make a scenario pass on the model that hangs
 * on QEMU, where the qemu engine kills the process. Code below the command handlers throws QemuHang,
 * and the engine reports it as the qemu engine reports a QEMU it had to kill.
 */
import { BlockcheckError } from "../../errors.js";
import { WOULD_HANG_CODE } from "../errors.js";

export class QemuHang extends BlockcheckError {
  constructor(
    /** Where and why QEMU waits forever, for the failure's message. */
    readonly detail: string,
  ) {
    super(WOULD_HANG_CODE, `QEMU 7.2 would hang: ${detail}`);
  }
}
