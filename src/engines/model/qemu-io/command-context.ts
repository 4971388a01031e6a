/**
 * What a qemu-io command runs with (its BlockBackend, its output, the main loop's clock), and the
 * small pieces every command shares: usage, pattern bytes, numbers, I/O vectors.
 */
import { Errno, IoError, strerror } from "../data/io-error.js";
import { BDRV_REQUEST_MAX_BYTES } from "../data/request-flags.js";
import type { IoBackend } from "./backend.js";
import type { CmdInfo } from "./command-table.js";
import { cvtnum, cvtnumError, exactIoNumber, strtol0 } from "./numbers.js";
import type { QemuIoOutput } from "./output.js";

export interface CommandContext {
  blk: IoBackend;
  out: QemuIoOutput;
  /** The command's table entry (for its usage line). */
  info: CmdInfo;
  /** Let the main loop run for `ms` of (virtual) time: `sleep`. */
  sleep(ms: number): void;
}

/** A command's `cfunc`; argv[0] is the command as typed. */
export type CommandFn = (ctx: CommandContext, argv: readonly string[]) => void;

/** `qemuio_command_usage`. */
export function usage(ctx: CommandContext): void {
  ctx.out.line(`${ctx.info.name} ${ctx.info.args ?? "(null)"} -- ${ctx.info.oneline}`);
}

/** `parse_pattern`: a byte, or null after printing why not. */
export function parsePattern(ctx: CommandContext, arg: string): number | null {
  const p = strtol0(arg);
  if (p.value < 0 || p.value > 255 || !p.complete) {
    ctx.out.line(`${arg} is not a valid pattern byte`);
    return null;
  }
  return p.value;
}

/** `cvtnum` with `print_cvtnum_err`: a number, or null after printing why not. */
export function number(ctx: CommandContext, arg: string): number | null {
  const n = cvtnum(arg);
  if ("error" in n) {
    ctx.out.line(cvtnumError(n.error, arg));
    return null;
  }
  if (n.warning) ctx.out.monitor(n.warning);
  return exactIoNumber(n.value, arg);
}

/** `create_iovec`: the lengths of an I/O vector, or null after printing why not. */
export function ioVector(ctx: CommandContext, args: readonly string[]): number[] | null {
  const sizes: number[] = [];
  let count = 0;
  for (const arg of args) {
    const len = number(ctx, arg);
    if (len === null) return null;
    if (len > BDRV_REQUEST_MAX_BYTES) {
      ctx.out.line(`Argument '${arg}' exceeds maximum size ${BDRV_REQUEST_MAX_BYTES}`);
      return null;
    }
    if (count > BDRV_REQUEST_MAX_BYTES - len) {
      ctx.out.line(`The total number of bytes exceed the maximum size ${BDRV_REQUEST_MAX_BYTES}`);
      return null;
    }
    sizes.push(len);
    count += len;
  }
  return sizes;
}

/** Run a request; an IoError comes back as its errno text (what "<op> failed: %s" prints). */
export function attempt(request: () => void): string | null {
  try {
    request();
    return null;
  } catch (e) {
    if (e instanceof IoError) return strerror(e.errno);
    throw e;
  }
}

/** INT_MAX: `do_pread` and friends refuse more (-ERANGE). */
export const INT_MAX = 2 ** 31 - 1;

/** The -ERANGE text. */
export const ERANGE_TEXT = strerror(Errno.ERANGE);

/** Whether `ctx.out` printed the pattern check's failure for [offset + start, +length) of `buf`. */
export function checkPattern(ctx: CommandContext, buf: { firstMismatch(byte: number): number }, pattern: number, at: number, length: number): boolean {
  if (buf.firstMismatch(pattern) < 0) return true;
  ctx.out.line(`Pattern verification failed at offset ${at}, ${length} bytes`);
  return false;
}
