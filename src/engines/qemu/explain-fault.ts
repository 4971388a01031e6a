/**
 * What a transport failure during a command means, told from QEMU's side: it died (QemuCrashedError with
 * its exit and log tail), it hung (QemuTimeoutError; it is killed), or its monitor broke while it lived
 * on (QemuConnectionError; it is killed). Anything else is passed through unchanged.
 */
import { QmpDisconnectedError, QmpProtocolError, QmpTimeoutError } from "../../qmp/errors.js";
import { QemuConnectionError, QemuCrashedError, QemuTimeoutError } from "./errors.js";
import { logTail } from "./log-file.js";
import type { QemuProcess } from "./qemu-process.js";

/** How long a dropped connection may precede QEMU's exit being reaped before we call QEMU alive. */
const EXIT_GRACE_MS = 2_000;

export interface FaultVerdict {
  /** The error to throw to the caller. */
  error: unknown;
  /** Set when QEMU was killed here: why, for the errors of later calls. */
  killedBecause?: string;
}

export async function explainFault(command: string, error: unknown, process: QemuProcess, logPath: string): Promise<FaultVerdict> {
  if (error instanceof QmpTimeoutError) {
    if (process.exitStatus) return { error: new QemuCrashedError(command, process.exitStatus, await logTail(logPath), { cause: error }) };
    await process.kill();
    return {
      error: new QemuTimeoutError(command, error.timeoutMs, await logTail(logPath), { cause: error }),
      killedBecause: `it did not answer '${command}' within ${error.timeoutMs} ms and was killed`,
    };
  }
  if (error instanceof QmpDisconnectedError || error instanceof QmpProtocolError) {
    // A dropped connection usually means QEMU died and its exit is about to be reaped; garbage on a
    // live monitor does not, so it gets no grace period.
    const exit = error instanceof QmpProtocolError ? process.exitStatus : await process.waitExit(EXIT_GRACE_MS);
    if (exit) return { error: new QemuCrashedError(command, exit, await logTail(logPath), { cause: error }) };
    await process.kill();
    return {
      error: new QemuConnectionError(command, await logTail(logPath), { cause: error }),
      killedBecause: `its monitor connection failed during '${command}' and it was killed`,
    };
  }
  return { error };
}
