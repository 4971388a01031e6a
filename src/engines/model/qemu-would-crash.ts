/**
 * Where QEMU 7.2 asserts or aborts (g_assert_not_reached, assert(bs_queue != NULL), …) the model
 * cannot answer: a made-up reply would make a scenario pass on the model and crash on QEMU. It
 * throws this instead, and the engine reports it as QEMU's crash, through the same path as a real
 * one.
 *
 * Code below the command handlers does not know the command it runs in: it throws QemuAbort (with
 * `qemuAssert` / `qemuNotReached`), and BlockLayer.execute turns that into QemuWouldCrashError.
 */
import { BlockcheckError } from "../../errors.js";

/** How QEMU would end: an assertion or g_assert_not_reached aborts (SIGABRT); a NULL dereference is SIGSEGV. */
/** SIGFPE: an integer division by zero (QEMU_IS_ALIGNED with an alignment of 0). */
export type QemuCrashSignal = "SIGABRT" | "SIGSEGV" | "SIGFPE";

/** Where QEMU ends itself with `exit(code)` instead of a signal (blkverify's mismatch): the exit code. */
export interface QemuCrashOptions {
  cause?: unknown;
  exitCode?: number;
}

/** "killed by signal SIGABRT" or "exit code 1". */
function howItEnds(signal: QemuCrashSignal, exitCode: number | undefined): string {
  return exitCode !== undefined ? `exit code ${exitCode}` : signal;
}

export class QemuWouldCrashError extends BlockcheckError {
  constructor(
    /** The QMP command QEMU would have died in. */
    readonly command: string,
    /** How QEMU would end. */
    readonly signal: QemuCrashSignal,
    /** What QEMU prints to stderr, e.g. "../../block.c:4390: bdrv_reopen_multiple: Assertion `bs_queue != NULL' failed." */
    readonly detail: string,
    options?: QemuCrashOptions,
  ) {
    super("E_QEMU_WOULD_CRASH", `QEMU 7.2 would crash during '${command}' (${howItEnds(signal, options?.exitCode)}): ${detail}`, { cause: options?.cause });
    this.exitCode = options?.exitCode;
  }

  /** Set when QEMU exits with this code rather than dying of `signal`. */
  readonly exitCode: number | undefined;
}

/** QEMU would abort here; the command is named by whoever catches it (BlockLayer.execute). */
export class QemuAbort extends BlockcheckError {
  constructor(
    readonly signal: QemuCrashSignal,
    /** What QEMU prints to stderr (see QemuWouldCrashError.detail). */
    readonly detail: string,
    /** Set when QEMU exits with this code rather than dying of `signal`. */
    readonly exitCode?: number,
  ) {
    super("E_QEMU_ABORT", `QEMU 7.2 would abort (${howItEnds(signal, exitCode)}): ${detail}`);
  }
}

/**
 * QEMU prints `detail` to stderr and calls `exit(code)` (blkverify_err): the process ends as a
 * crash does, with an exit code instead of a signal.
 */
export function qemuExit(code: number, detail: string): never {
  throw new QemuAbort("SIGABRT", detail, code);
}

/**
 * A place in QEMU's source as Debian's 7.2.22 build names it: `__FILE__` is relative to the build
 * directory ("../../block.c") and line numbers are those of Debian's patched tree (read from its
 * qemu-storage-daemon binary), not v7.2.0's.
 */
export interface QemuSourceLine {
  file: string;
  line: number;
  func: string;
}

/** error_setv's `assert(*errp == NULL)`: an error set where one already is. */
export const ERROR_SETV: QemuSourceLine = { file: "../../util/error.c", line: 59, func: "error_setv" };

/** A failed `assert(expr)`, with glibc's message (less the program name QEMU's binary prefixes). */
export function qemuAssert(at: QemuSourceLine, expr: string): never {
  throw new QemuAbort("SIGABRT", `${at.file}:${at.line}: ${at.func}: Assertion \`${expr}' failed.`);
}

/** A `g_assert_not_reached()`, with glib's message. */
export function qemuNotReached(at: QemuSourceLine): never {
  throw new QemuAbort("SIGABRT", `ERROR:${at.file}:${at.line}:${at.func}: code should not be reached`);
}

/**
 * An error set on `&error_abort` (error_handle() in util/error.c): QEMU prints where it was set and
 * the message, then aborts. From a QMP command there is no program-name prefix (a monitor is current).
 */
export function qemuErrorAbort(at: QemuSourceLine, message: string): never {
  throw new QemuAbort("SIGABRT", `Unexpected error in ${at.func}() at ${at.file}:${at.line}:\n${message}`);
}
