/**
 * File-system failures (a read-only golden directory, a full disk, a path under a regular file) as
 * typed errors that name the action and the path. They are the environment's fault, not a bug, so
 * they are configuration errors: where they stop a command the CLI exits 2; where they concern one
 * scenario (its golden, its images) the runner turns them into that scenario's failure instead.
 */
import { ConfigError } from "./errors.js";

/** A failed file-system call as Node reports it (`code` such as "ENOSPC", `syscall`, maybe `path`). */
export function isErrnoException(e: unknown): e is NodeJS.ErrnoException & { code: string } {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === "string" && typeof (e as NodeJS.ErrnoException).syscall === "string";
}

/** "no space left on device (ENOSPC)" from Node's "ENOSPC: no space left on device, write". */
export function errnoReason(e: NodeJS.ErrnoException): string {
  const text = /^[A-Z0-9_]+: ([^,]+)/.exec(e.message)?.[1] ?? e.message;
  return e.code !== undefined && !text.includes(e.code) ? `${text} (${e.code})` : text;
}

export class FileSystemError extends ConfigError {
  /** The errno code, e.g. "EROFS". */
  readonly errno: string;

  constructor(
    /** What was being done, e.g. "write", "create directory". */
    readonly action: string,
    /** The file or directory it was done to (absolute). */
    readonly path: string,
    cause: NodeJS.ErrnoException & { code: string },
  ) {
    super(`cannot ${action} ${path}: ${errnoReason(cause)}`, { cause });
    this.errno = cause.code;
  }

  /** The same message with the path shown as the caller likes (e.g. relative to the project). */
  describe(show: (abs: string) => string): string {
    return `cannot ${this.action} ${show(this.path)}: ${errnoReason(this.cause as NodeJS.ErrnoException)}`;
  }
}

/** Run `fn`; a file-system failure becomes a FileSystemError about `path`. */
export async function onFile<T>(action: string, path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw isErrnoException(e) ? new FileSystemError(action, path, e) : e;
  }
}

/** onFile for a synchronous `fn`. */
export function onFileSync<T>(action: string, path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw isErrnoException(e) ? new FileSystemError(action, path, e) : e;
  }
}
