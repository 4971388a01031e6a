/**
 * qemu-io's writes (qemu-io-cmds.c `write_f`, `writev_f`, `aio_write_f` with `aio_write_done`):
 * a pattern (0xcd unless -P), zeros (-z, -u to unmap), or compressed clusters (-c).
 */
import { Data } from "../data/data.js";
import { ModelIoUnsupportedError } from "../data/io-error.js";
import { BDRV_REQ_FUA, BDRV_REQ_MAY_UNMAP, BDRV_REQ_NO_FALLBACK, BDRV_REQUEST_MAX_BYTES } from "../data/request-flags.js";
import { attempt, type CommandFn, ERANGE_TEXT, INT_MAX, ioVector, number, parsePattern, usage } from "./command-context.js";
import { getopt } from "./getopt.js";
import { printReport } from "./report.js";

export const writeF: CommandFn = (ctx, argv) => {
  const { opts, operands } = getopt(argv, "bcCfnpP:qs:uz");
  const f = { b: false, c: false, C: false, q: false, z: false, P: false, s: false };
  let flags = 0;
  let pattern = 0xcd;
  for (const o of opts) {
    if ("complaint" in o) {
      ctx.out.line(o.complaint);
      return usage(ctx);
    }
    if (o.c === "f") flags |= BDRV_REQ_FUA;
    else if (o.c === "n") flags |= BDRV_REQ_NO_FALLBACK;
    else if (o.c === "u") flags |= BDRV_REQ_MAY_UNMAP;
    else if (o.c === "P") {
      f.P = true;
      const p = parsePattern(ctx, o.arg!);
      if (p === null) return;
      pattern = p;
    } else if (o.c === "b" || o.c === "c" || o.c === "C" || o.c === "q" || o.c === "z" || o.c === "s") f[o.c] = true;
  }
  if (operands.length !== 2) return usage(ctx);
  if (f.b && f.z) return ctx.out.line("-b and -z cannot be specified at the same time");
  if (flags & BDRV_REQ_FUA && (f.b || f.c)) return ctx.out.line("-f and -b or -c cannot be specified at the same time");
  if (flags & BDRV_REQ_NO_FALLBACK && !f.z) return ctx.out.line("-n requires -z to be specified");
  if (flags & BDRV_REQ_MAY_UNMAP && !f.z) return ctx.out.line("-u requires -z to be specified");
  if (Number(f.z) + Number(f.P) + Number(f.s) > 1) return ctx.out.line("Only one of -z, -P, and -s can be specified at the same time");
  const offset = number(ctx, operands[0]!);
  if (offset === null) return;
  const count = number(ctx, operands[1]!);
  if (count === null) return;
  if (count > BDRV_REQUEST_MAX_BYTES && !(flags & BDRV_REQ_NO_FALLBACK)) {
    return ctx.out.line(`length cannot exceed ${BDRV_REQUEST_MAX_BYTES} without -n, given ${operands[1]}`);
  }
  if (f.b || f.c) {
    if (offset % 512) return ctx.out.line(`${offset} is not a sector-aligned value for 'offset'`);
    if (count % 512) return ctx.out.line(`${count} is not a sector-aligned value for 'count'`);
  }
  if (f.s) throw new ModelIoUnsupportedError("writing a pattern file (write -s)");
  let failed: string | null;
  if (f.b) failed = count > INT_MAX ? ERANGE_TEXT : attempt(() => ctx.blk.saveVmstate(offset, Data.fill(count, pattern)));
  else if (f.z) {
    ctx.blk.pollOwnContext();
    failed = attempt(() => ctx.blk.pwriteZeroes(offset, count, flags));
  } else if (f.c) failed = count > BDRV_REQUEST_MAX_BYTES ? ERANGE_TEXT : attempt(() => ctx.blk.pwriteCompressed(offset, Data.fill(count, pattern)));
  else failed = count > INT_MAX ? ERANGE_TEXT : attempt(() => ctx.blk.pwrite(offset, Data.fill(count, pattern), flags));
  if (failed !== null) return ctx.out.line(`write failed: ${failed}`);
  if (f.q) return;
  printReport(ctx.out, "wrote", 0, offset, count, count, 1, f.C);
};

export const writevF: CommandFn = (ctx, argv) => {
  const { opts, operands } = getopt(argv, "CfqP:");
  let C = false;
  let q = false;
  let flags = 0;
  let pattern = 0xcd;
  for (const o of opts) {
    if ("complaint" in o) {
      ctx.out.line(o.complaint);
      return usage(ctx);
    }
    if (o.c === "C") C = true;
    else if (o.c === "q") q = true;
    else if (o.c === "f") flags |= BDRV_REQ_FUA;
    else if (o.c === "P") {
      const p = parsePattern(ctx, o.arg!);
      if (p === null) return;
      pattern = p;
    }
  }
  if (operands.length < 2) return usage(ctx);
  const offset = number(ctx, operands[0]!);
  if (offset === null) return;
  const sizes = ioVector(ctx, operands.slice(1));
  if (!sizes) return;
  const size = sizes.reduce((a, b) => a + b, 0);
  ctx.blk.waitInMainLoop("writev");
  const failed = attempt(() => ctx.blk.pwrite(offset, Data.fill(size, pattern), flags));
  if (failed !== null) return ctx.out.line(`writev failed: ${failed}`);
  if (q) return;
  printReport(ctx.out, "wrote", 0, offset, size, size, 1, C);
};

export const aioWriteF: CommandFn = (ctx, argv) => {
  const { opts, operands } = getopt(argv, "CfiqP:uz");
  let C = false;
  let q = false;
  let z = false;
  let flags = 0;
  let pattern = 0xcd;
  for (const o of opts) {
    if ("complaint" in o) {
      ctx.out.line(o.complaint);
      return usage(ctx);
    }
    if (o.c === "C") C = true;
    else if (o.c === "q") q = true;
    else if (o.c === "z") z = true;
    else if (o.c === "f") flags |= BDRV_REQ_FUA;
    else if (o.c === "u") flags |= BDRV_REQ_MAY_UNMAP;
    else if (o.c === "i") return ctx.out.line("injecting invalid write request");
    else if (o.c === "P") {
      // aio_write_f never sets its Pflag, so -z and -P together are not refused.
      const p = parsePattern(ctx, o.arg!);
      if (p === null) return;
      pattern = p;
    }
  }
  if (operands.length < 2) return usage(ctx);
  if (z && operands.length !== 2) return ctx.out.line("-z supports only a single length parameter");
  if (flags & BDRV_REQ_MAY_UNMAP && !z) return ctx.out.line("-u requires -z to be specified");
  const offset = number(ctx, operands[0]!);
  if (offset === null) return;
  let size: number;
  let failed: string | null;
  if (z) {
    const count = number(ctx, operands[1]!);
    if (count === null) return;
    size = count;
    ctx.blk.asyncRequest("aio_write");
    failed = attempt(() => ctx.blk.pwriteZeroes(offset, count, flags));
  } else {
    const sizes = ioVector(ctx, operands.slice(1));
    if (!sizes) return;
    size = sizes.reduce((a, b) => a + b, 0);
    ctx.blk.asyncRequest("aio_write");
    failed = attempt(() => ctx.blk.pwrite(offset, Data.fill(size, pattern), flags));
  }
  // aio_write_done
  if (failed !== null) return ctx.out.line(`aio_write failed: ${failed}`);
  if (q) return;
  printReport(ctx.out, "wrote", 0, offset, size, size, 1, C);
};
