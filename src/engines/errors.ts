/**
 * Failures every engine reports the same way, so the runner can tell them apart without knowing
 * which engine it drives. Engine-specific detail (QEMU's log, the model's assertion text) lives in
 * the message; what a transcript may show (the signal) is a field.
 */
import { BlockcheckError } from "../errors.js";
import { ENGINE_FEATURES, type EngineFeature, type EngineKind, type ExitStatus } from "./engine.js";

/** "SIGABRT", or "exit code 1": how a process ended, in the words of a transcript. */
export function exitSummary(exit: ExitStatus | undefined): string {
  if (!exit) return "still running";
  return exit.signal ?? `exit code ${exit.exitCode ?? "unknown"}`;
}

/**
 * QEMU died while or before `command` ran: a real crash on the qemu engine (QemuCrashedError), or one
 * the model knows QEMU 7.2 would have (it then answers no more commands). Every engine uses this code.
 */
export class EngineCrashedError extends BlockcheckError {
  constructor(
    /** The command during which QEMU died (or was found dead). */
    readonly command: string,
    /** How it ended; undefined when that could not be learnt. */
    readonly exit: ExitStatus | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super("E_QEMU_CRASHED", message, options);
  }

  /** How QEMU ended, engine-neutral ("SIGABRT"), as the transcript shows it. */
  get summary(): string {
    return exitSummary(this.exit);
  }
}

/**
 * An image the engine could not make as the scenario asked. `reason` is what qemu-img says about the
 * image, as the transcript shows it on every engine (without qemu-img's `qemu-img: FILE: ` prefix);
 * the message may say more (the command line).
 */
export class ImageCreateError extends BlockcheckError {
  constructor(
    code: string,
    message: string,
    readonly reason: string = message,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** "killed by signal SIGABRT" / "exit code 1" / "still running": how a process ended, in a sentence. */
export function describeExit(status: ExitStatus | undefined): string {
  if (!status) return "still running";
  if (status.signal) return `killed by signal ${status.signal}`;
  return `exit code ${status.exitCode ?? "unknown"}`;
}

/** The transcript's line for a QEMU that stopped answering and was killed, whichever engine says so. */
export const HUNG_AND_KILLED = "QEMU hung and was killed";

/** The error code of a hang the model foresees where QEMU 7.2 would never answer (model/qemu-would-hang.ts). */
export const WOULD_HANG_CODE = "E_QEMU_WOULD_HANG";

/**
 * The engine could not carry out `command` and cannot go on, though QEMU did not crash: it hung and
 * was killed, or its monitor connection broke. Like a crash, it ends the run at the statement it
 * happened in; `summary` is the transcript's line for it, the same whatever the engine.
 */
export class EngineFailedError extends BlockcheckError {
  constructor(
    code: string,
    /** The command QEMU was given when it failed. */
    readonly command: string,
    /** What the transcript shows, e.g. "QEMU hung and was killed". */
    readonly summary: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** A method behind a feature (e.g. io) called on an engine that does not have that feature. */
export class EngineFeatureMissingError extends BlockcheckError {
  constructor(
    readonly engine: EngineKind,
    readonly feature: EngineFeature,
    hint = "",
    code = "E_ENGINE_NO_FEATURE",
  ) {
    super(code, `the ${engine} engine has no ${ENGINE_FEATURES[feature].noun} (feature '${feature}')${hint ? `; ${hint}` : ""}`);
  }
}
