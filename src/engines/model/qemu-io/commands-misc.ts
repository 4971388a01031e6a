/**
 * The rest of qemu-io's commands the model runs (qemu-io-cmds.c): `discard_f`, `flush_f`,
 * `aio_flush_f`, `alloc_f`, `map_f` (with `map_is_allocated`), `length_f`, `sleep_f`, `help_f`,
 * `abort_f`.
 */
import { acquireEveryNodeContext } from "../aio-context/iothread-objects.js";
import { waitForNodeCoroutine } from "../aio-context/main-thread-wait.js";
import { isInserted } from "../data/block-io.js";
import { bdrvIsAllocated } from "../data/block-status.js";
import { IoError, strerror } from "../data/io-error.js";
import { BDRV_REQUEST_MAX_BYTES } from "../data/request-flags.js";
import type { BdsNode } from "../graph.js";
import type { LayerState } from "../layer-state.js";
import { QemuAbort } from "../qemu-would-crash.js";
import { attempt, type CommandFn, number, usage } from "./command-context.js";
import { CMD_TABLE, type CmdInfo, findCommand } from "./command-table.js";
import { getopt } from "./getopt.js";
import { cvtstr, strtol0 } from "./numbers.js";
import { printReport } from "./report.js";

export const discardF: CommandFn = (ctx, argv) => {
  const { opts, operands } = getopt(argv, "Cq");
  let C = false;
  let q = false;
  for (const o of opts) {
    if ("complaint" in o) {
      ctx.out.line(o.complaint);
      return usage(ctx);
    }
    if (o.c === "C") C = true;
    else if (o.c === "q") q = true;
  }
  if (operands.length !== 2) return usage(ctx);
  const offset = number(ctx, operands[0]!);
  if (offset === null) return;
  const bytes = number(ctx, operands[1]!);
  if (bytes === null) return;
  if (bytes > BDRV_REQUEST_MAX_BYTES) return ctx.out.line(`length cannot exceed ${BDRV_REQUEST_MAX_BYTES}, given ${operands[1]}`);
  const failed = attempt(() => ctx.blk.pdiscard(offset, bytes));
  if (failed !== null) return ctx.out.line(`discard failed: ${failed}`);
  if (!q) printReport(ctx.out, "discard", 0, offset, bytes, bytes, 1, C);
};

/** `flush_f`: a failure would only be the command's return value, which HMP drops. */
export const flushF: CommandFn = (ctx) => {
  try {
    ctx.blk.flush();
  } catch (e) {
    if (!(e instanceof IoError)) throw e;
  }
};

/**
 * `aio_flush_f` → `blk_drain_all`: the model's requests are all complete already, but its
 * bdrv_drain_all_begin takes every node's context.
 */
export function aioFlushF(state: LayerState): CommandFn {
  return () => acquireEveryNodeContext(state);
}

/**
 * `bdrv_is_allocated` of the node itself, with an error as its errno. It is a coroutine wrapper:
 * called from HMP's main thread on a node in an iothread, it waits for that iothread while HMP
 * holds the node's context (a lock block_resize leaked there too, and QEMU never answers).
 */
function isAllocated(state: LayerState, bs: BdsNode, offset: number, bytes: number, command: string): { allocated: boolean; pnum: number } | { errno: number } {
  waitForNodeCoroutine(state, bs, state.aio.of(bs), `qemu-io's ${command}`);
  try {
    return bdrvIsAllocated(state, bs, offset, bytes);
  } catch (e) {
    if (e instanceof IoError) return { errno: e.errno };
    throw e;
  }
}

export function allocF(state: LayerState): CommandFn {
  return (ctx, argv) => {
    const start = number(ctx, argv[1]!);
    if (start === null) return;
    let count = 512;
    if (argv.length === 3) {
      const c = number(ctx, argv[2]!);
      if (c === null) return;
      count = c;
    }
    let offset = start;
    let remaining = count;
    let sum = 0;
    while (remaining) {
      const r = isAllocated(state, ctx.blk.bs, offset, remaining, "alloc");
      if ("errno" in r) return ctx.out.line(`is_allocated failed: ${strerror(r.errno)}`);
      offset += r.pnum;
      remaining -= r.pnum;
      if (r.allocated) sum += r.pnum;
      if (r.pnum === 0) {
        count -= remaining;
        remaining = 0;
      }
    }
    ctx.out.line(`${sum}/${count} bytes allocated at offset ${cvtstr(start)}`);
  };
}

export function mapF(state: LayerState): CommandFn {
  return (ctx) => {
    let offset = 0;
    // blk_getlength: -ENOMEDIUM without a driver.
    if (!isInserted(ctx.blk.bs)) return ctx.out.monitor("Failed to query image length: No medium found");
    let bytes = ctx.blk.length();
    while (bytes) {
      // map_is_allocated: one answer, extended while the next ones agree.
      const first = isAllocated(state, ctx.blk.bs, offset, bytes, "map");
      if ("errno" in first) return ctx.out.monitor(`Failed to get allocation status: ${strerror(first.errno)}`);
      let num = first.pnum;
      let at = offset + num;
      let left = bytes - num;
      while (left > 0) {
        const next = isAllocated(state, ctx.blk.bs, at, left, "map");
        if ("errno" in next || next.allocated !== first.allocated || !next.pnum) break;
        num += next.pnum;
        at += next.pnum;
        left -= next.pnum;
      }
      if (!num) return ctx.out.monitor("Unexpected end of image");
      const what = first.allocated ? "    allocated" : "not allocated";
      ctx.out.line(`${cvtstr(num)} (0x${num.toString(16)}) bytes ${what} at offset ${cvtstr(offset)} (0x${offset.toString(16)})`);
      offset += num;
      bytes -= num;
    }
  };
}

export const lengthF: CommandFn = (ctx) => {
  if (!isInserted(ctx.blk.bs)) return ctx.out.line("getlength: No medium found");
  ctx.out.line(cvtstr(ctx.blk.length()));
};

/** `sleep_f`: the main loop runs for that long (the model's clock is virtual, so no time passes). */
export const sleepF: CommandFn = (ctx, argv) => {
  const ms = strtol0(argv[1]!);
  if (ms.value < 0 || !ms.complete) return ctx.out.line(`${argv[1]} is not a valid number`);
  ctx.sleep(ms.value);
};

/** `help_oneline`. */
function helpOneline(name: string, ct: CmdInfo): string {
  return `${name} ${ct.args !== undefined ? `${ct.args} ` : ""}-- ${ct.oneline}\n`;
}

export const helpF: CommandFn = (ctx, argv) => {
  if (argv.length < 2) {
    for (const ct of CMD_TABLE) ctx.out.print(helpOneline(ct.name, ct));
    return ctx.out.print("\nUse 'help commandname' for extended help.\n");
  }
  const ct = findCommand(argv[1]!);
  if (!ct) return ctx.out.line(`command ${argv[1]} not found`);
  ctx.out.print(helpOneline(argv[1]!, ct) + (ct.help ?? ""));
};

/** `abort_f`: QEMU dies of SIGABRT, printing nothing. */
export const abortF: CommandFn = () => {
  throw new QemuAbort("SIGABRT", "qemu-io: abort");
};
