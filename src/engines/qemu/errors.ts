/**
 * Typed failures of the qemu engine. Each names what was being done, how QEMU ended (exit code or
 * signal) where it did, and the tail of QEMU's log, so a crash reads as a bug report.
 */
import { BlockcheckError } from "../../errors.js";
import type { ExitStatus } from "../engine.js";
import { describeExit, EngineCrashedError, EngineFailedError, EngineFeatureMissingError, HUNG_AND_KILLED, ImageCreateError } from "../errors.js";

export { describeExit };

function withLog(message: string, logTail: string): string {
  return logTail.trim() ? `${message}\n--- QEMU log (tail) ---\n${logTail.trimEnd()}` : `${message} (QEMU log is empty)`;
}

/** QEMU did not come up: it exited, never connected to the monitor socket in time, or was aborted. */
export class QemuStartError extends BlockcheckError {
  /** Set when we killed QEMU (start timeout, abort, failed negotiation): why. */
  readonly killedBecause: string | undefined;

  constructor(
    message: string,
    readonly commandLine: string,
    readonly exit: ExitStatus | undefined,
    readonly logTail: string,
    options?: { cause?: unknown; killedBecause?: string },
  ) {
    super("E_QEMU_START", withLog(`${message}\ncommand line: ${commandLine}`, logTail), options);
    this.killedBecause = options?.killedBecause;
  }
}

/** QEMU died (crash, abort, kill) while or before `command` ran. */
export class QemuCrashedError extends EngineCrashedError {
  constructor(
    command: string,
    exit: ExitStatus | undefined,
    readonly logTail: string,
    options?: { cause?: unknown },
  ) {
    super(command, exit, withLog(`QEMU died during '${command}' (${describeExit(exit)})`, logTail), options);
  }
}

/** `command` got no reply within the per-call timeout; QEMU is considered hung and is killed. */
export class QemuTimeoutError extends EngineFailedError {
  constructor(
    command: string,
    readonly timeoutMs: number,
    readonly logTail: string,
    options?: { cause?: unknown },
  ) {
    super("E_QEMU_TIMEOUT", command, HUNG_AND_KILLED, withLog(`QEMU did not answer '${command}' within ${timeoutMs} ms; it was killed`, logTail), options);
  }
}

/** The monitor connection broke while QEMU itself kept running (e.g. QEMU sent something that is not QMP). */
export class QemuConnectionError extends EngineFailedError {
  constructor(
    command: string,
    readonly logTail: string,
    options?: { cause?: unknown },
  ) {
    super("E_QEMU_CONNECTION", command, "QEMU's monitor failed and QEMU was killed", withLog(`QMP connection to QEMU failed during '${command}'; QEMU was killed`, logTail), options);
  }
}

/** The engine was used out of order: before start(), after stop(), after an earlier fatal failure, start() twice. */
export class QemuEngineStateError extends BlockcheckError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("E_QEMU_STATE", message, options);
  }
}

/** `io` on an engine started without the `io` feature (qemu-storage-daemon has no HMP, hence no qemu-io). */
export class QemuIoUnavailableError extends EngineFeatureMissingError {
  constructor() {
    super("qemu", "io", "io needs qemu-system (HMP qemu-io): start the engine with the io feature", "E_QEMU_NO_IO");
  }
}

/** `qemu-img create` failed; `reason` is its message about the image, when it gave one. */
export class QemuImgError extends ImageCreateError {
  constructor(
    readonly commandLine: string,
    readonly output: string,
    reason?: string,
    options?: { cause?: unknown },
  ) {
    const message = `qemu-img failed: ${commandLine}\n${output.trimEnd()}`;
    super("E_QEMU_IMG", message, reason ?? message, options);
  }
}
