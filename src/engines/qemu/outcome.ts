/**
 * How a QEMU process ended, as stop() reports it (machine.py's shutdown, told as a value): exit
 * status 0 is clean; a signal or another status is a crash, unless we sent the SIGKILL ourselves
 * because it hung, which is a kill.
 */
import type { EngineStopOutcome, ExitStatus } from "../engine.js";

/** The outcome for a process that ended with `exit` (undefined: it could not be reaped). */
export function endOutcome(exit: ExitStatus | undefined, logTail: string, killedBecause?: string): EngineStopOutcome {
  if (killedBecause !== undefined || !exit) {
    return { kind: "killed", reason: killedBecause ?? "it could not be reaped after SIGKILL", logTail };
  }
  if (exit.exitCode === 0 && !exit.signal) return { kind: "clean" };
  return { kind: "crashed", exit: { ...exit }, logTail };
}
