/**
 * qemu-io's reads (qemu-io-cmds.c `read_f`, `readv_f`, `aio_read_f` with `aio_read_done`): the
 * data is checked against a pattern, dumped, and reported. An aio request completes before the
 * HMP command returns (the temporary BlockBackend is drained when it goes), so its output comes at
 * once too.
 */
import { Data } from "../data/data.js";
import { BDRV_REQUEST_MAX_BYTES } from "../data/request-flags.js";
import { IoBackend } from "./backend.js";
import { attempt, checkPattern, type CommandFn, ERANGE_TEXT, INT_MAX, ioVector, number, parsePattern, usage } from "./command-context.js";
import { getopt } from "./getopt.js";
import { dumpBuffer, printReport } from "./report.js";

export const readF: CommandFn = (ctx, argv) => {
  const { opts, operands } = getopt(argv, "bCl:pP:qs:v");
  let b = false;
  let C = false;
  let q = false;
  let v = false;
  let pattern: number | null = null;
  let patternOffset = 0;
  let patternCount: number | null = null;
  let sflag = false;
  for (const o of opts) {
    if ("complaint" in o) {
      ctx.out.line(o.complaint);
      return usage(ctx);
    }
    if (o.c === "b") b = true;
    else if (o.c === "C") C = true;
    else if (o.c === "q") q = true;
    else if (o.c === "v") v = true;
    else if (o.c === "l") {
      patternCount = number(ctx, o.arg!);
      if (patternCount === null) return;
    } else if (o.c === "P") {
      pattern = parsePattern(ctx, o.arg!);
      if (pattern === null) return;
    } else if (o.c === "s") {
      sflag = true;
      const s = number(ctx, o.arg!);
      if (s === null) return;
      patternOffset = s;
    }
  }
  if (operands.length !== 2) return usage(ctx);
  const offset = number(ctx, operands[0]!);
  if (offset === null) return;
  const count = number(ctx, operands[1]!);
  if (count === null) return;
  if (count > BDRV_REQUEST_MAX_BYTES) return ctx.out.line(`length cannot exceed ${BDRV_REQUEST_MAX_BYTES}, given ${operands[1]}`);
  if (pattern === null && (patternCount !== null || sflag)) return usage(ctx);
  const verifyCount = patternCount ?? count - patternOffset;
  if (verifyCount < 0 || verifyCount + patternOffset > count) return ctx.out.line("pattern verification range exceeds end of read data");
  if (b) {
    if (offset % 512) return ctx.out.line(`${offset} is not a sector-aligned value for 'offset'`);
    if (count % 512) return ctx.out.line(`${count} is not a sector-aligned value for 'count'`);
  }
  let data = Data.EMPTY;
  const failed = count > INT_MAX ? ERANGE_TEXT : attempt(() => (data = IoBackend.asRead(b ? ctx.blk.loadVmstate(offset, count) : ctx.blk.pread(offset, count))));
  if (failed !== null) return ctx.out.line(`read failed: ${failed}`);
  if (pattern !== null) checkPattern(ctx, data.slice(patternOffset, verifyCount), pattern, offset + patternOffset, verifyCount);
  if (q) return;
  if (v) dumpBuffer(ctx.out, data.toBuffer(), offset);
  printReport(ctx.out, "read", 0, offset, count, count, 1, C);
};

/** The flags readv and aio_read share, and their vector. */
function vectorRead(ctx: Parameters<CommandFn>[0], argv: readonly string[], optstring: string): { offset: number; sizes: number[]; pattern: number | null; C: boolean; q: boolean; v: boolean } | null {
  const { opts, operands } = getopt(argv, optstring);
  let pattern: number | null = null;
  const f = { C: false, q: false, v: false };
  for (const o of opts) {
    if ("complaint" in o) {
      ctx.out.line(o.complaint);
      usage(ctx);
      return null;
    }
    if (o.c === "i") {
      // aio_read -i: an invalid request for the statistics, nothing is read.
      ctx.out.line("injecting invalid read request");
      return null;
    }
    if (o.c === "C" || o.c === "q" || o.c === "v") f[o.c] = true;
    else if (o.c === "P") {
      pattern = parsePattern(ctx, o.arg!);
      if (pattern === null) return null;
    }
  }
  if (operands.length < 2) {
    usage(ctx);
    return null;
  }
  const offset = number(ctx, operands[0]!);
  if (offset === null) return null;
  const sizes = ioVector(ctx, operands.slice(1));
  if (!sizes) return null;
  return { offset, sizes, pattern, ...f };
}

function finishRead(ctx: Parameters<CommandFn>[0], r: NonNullable<ReturnType<typeof vectorRead>>, failedWord: string): void {
  const size = r.sizes.reduce((a, b) => a + b, 0);
  let data = Data.EMPTY;
  const failed = attempt(() => (data = IoBackend.asRead(ctx.blk.pread(r.offset, size))));
  if (failed !== null) return ctx.out.line(`${failedWord} failed: ${failed}`);
  if (r.pattern !== null) checkPattern(ctx, data, r.pattern, r.offset, size);
  if (r.q) return;
  if (r.v) dumpBuffer(ctx.out, data.toBuffer(), r.offset);
  printReport(ctx.out, "read", 0, r.offset, size, size, 1, r.C);
}

export const readvF: CommandFn = (ctx, argv) => {
  const r = vectorRead(ctx, argv, "CP:qv");
  if (!r) return;
  ctx.blk.waitInMainLoop("readv");
  finishRead(ctx, r, "readv");
};

/** aio_read_done reports a failure as "readv failed" (sic). */
export const aioReadF: CommandFn = (ctx, argv) => {
  const r = vectorRead(ctx, argv, "CP:iqv");
  if (!r) return;
  ctx.blk.asyncRequest("aio_read");
  finishRead(ctx, r, "readv");
};
