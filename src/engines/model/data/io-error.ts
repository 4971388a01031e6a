/**
 * How the model's I/O path fails: QEMU's functions return `-errno`, the model throws an IoError
 * carrying it, and the caller that prints it (qemu-io's "write failed: %s") uses glibc's text. A
 * request the model cannot answer as QEMU would is a ModelIoUnsupportedError instead: a limit of
 * the model, never dressed up as one of QEMU's errors.
 */
import { BlockcheckError } from "../../../errors.js";
import { ERRNO_TEXT } from "./errno-text.js";

/** The errno values the block layer returns (Linux numbering). */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  ENOMEM: 12,
  EACCES: 13,
  EBUSY: 16,
  EINVAL: 22,
  EFBIG: 27,
  ENOSPC: 28,
  ERANGE: 34,
  ENOTSUP: 95,
  ENOMEDIUM: 123,
} as const;

/** glibc's `strerror` for those values. */
const TEXT: Record<number, string> = {
  [Errno.EPERM]: "Operation not permitted",
  [Errno.EIO]: "Input/output error",
  [Errno.ENOMEM]: "Cannot allocate memory",
  [Errno.EACCES]: "Permission denied",
  [Errno.EBUSY]: "Device or resource busy",
  [Errno.EINVAL]: "Invalid argument",
  [Errno.EFBIG]: "File too large",
  [Errno.ENOSPC]: "No space left on device",
  [Errno.ERANGE]: "Numerical result out of range",
  [Errno.ENOTSUP]: "Operation not supported",
  [Errno.ENOMEDIUM]: "No medium found",
};

export function strerror(errno: number): string {
  return TEXT[errno] ?? ERRNO_TEXT[errno] ?? `Unknown error ${errno}`;
}

/** A request failed with `-errno`, as QEMU's would. */
export class IoError extends BlockcheckError {
  constructor(readonly errno: number) {
    super("E_MODEL_IO", strerror(errno));
  }
}

/**
 * A failure a blkdebug rule injected: at once, or (unless the rule says `immediately`) once the
 * request's coroutine has waited a turn of the event loop, as a request to the thread pool would.
 * A qcow2 request in several parts that meets one is not followed (its AioTaskPool starts the parts
 * after it before the failure is seen).
 */
export class InjectedIoError extends IoError {
  constructor(
    errno: number,
    readonly immediately: boolean,
  ) {
    super(errno);
  }
}

/** Shorthand: fail the request with this errno. */
export function ioFail(errno: number): never {
  throw new IoError(errno);
}

/** The model does not implement what this request needs (a limit of the model, not QEMU's answer). */
export class ModelIoUnsupportedError extends BlockcheckError {
  constructor(what: string) {
    super("E_MODEL_IO_UNSUPPORTED", `the model engine does not model ${what}`);
  }
}

/** Run a request: 0, or -errno of the I/O error it failed with (QEMU's return value). */
export function catchIoError(request: () => void): number {
  try {
    request();
    return 0;
  } catch (e) {
    if (e instanceof IoError) return -e.errno;
    throw e;
  }
}
