/**
 * qemu-io's commands about the node itself (qemu-io-cmds.c): `truncate_f`, `info_f` and
 * `reopen_f`. What they print through `error_report` and `qemu_printf` lands in the HMP reply
 * (QemuIoOutput.monitor); `printf` goes to stdout.
 */
import { withSubtreeDrained } from "../drain.js";
import { PREALLOC_MODES, type PreallocMode, bdrvTruncate } from "../data/truncate.js";
import type { LayerState } from "../layer-state.js";
import { optBool } from "../options.js";
import { BLK_PERM_WRITE, BLK_PERM_WRITE_UNCHANGED } from "../perms.js";
import { QmpFailure } from "../qmp-failure.js";
import { bdrvGetInfo } from "../query/named-nodes.js";
import { ReopenQueue } from "../reopen/queue.js";
import { reopenMultiple } from "../reopen/reopen-multiple.js";
import { qdictKeyOrder } from "../../../qapi/qdict-order.js";
import { ModelIoUnsupportedError } from "../data/io-error.js";
import { type CommandContext, type CommandFn, usage } from "./command-context.js";
import { getopt } from "./getopt.js";
import { cvtnum, cvtnumError, cvtstr, exactIoNumber } from "./numbers.js";

/** `error_report_err`: the message, then any hint. */
function reportErr(ctx: CommandContext, e: QmpFailure): void {
  ctx.out.monitor(e.hint === undefined ? e.body.desc : `${e.body.desc}\n${e.hint}`);
}

/** Run `body`; a QmpFailure is reported as error_report_err does and gives false. */
function reporting(ctx: CommandContext, body: () => void): boolean {
  try {
    body();
    return true;
  } catch (e) {
    if (!(e instanceof QmpFailure)) throw e;
    reportErr(ctx, e);
    return false;
  }
}

export function truncateF(state: LayerState): CommandFn {
  return (ctx, argv) => {
    const { opts, operands } = getopt(argv, "m:");
    let prealloc: PreallocMode = "off";
    for (const o of opts) {
      if ("complaint" in o) {
        ctx.out.line(o.complaint);
        return usage(ctx);
      }
      if (!(PREALLOC_MODES as readonly string[]).includes(o.arg!)) return ctx.out.monitor(`Invalid preallocation mode '${o.arg!}'`);
      prealloc = o.arg as PreallocMode;
    }
    // cvtnum(argv[optind]) with no operand left dereferences NULL in QEMU.
    if (operands.length === 0) throw new ModelIoUnsupportedError("truncate without an offset (QEMU 7.2 crashes)");
    const n = cvtnum(operands[0]!);
    // print_cvtnum_err names argv[1], whatever it is.
    if ("error" in n) return ctx.out.line(cvtnumError(n.error, argv[1]!));
    if (n.warning) ctx.out.monitor(n.warning);
    // blk_truncate(blk, offset, exact=false, prealloc, 0).
    const offset = exactIoNumber(n.value, operands[0]!);
    reporting(ctx, () => bdrvTruncate(state, ctx.blk.bs, offset, false, prealloc, 0));
  };
}

/** `dump_qobject` / `dump_qdict` / `dump_qlist` (block/qapi.c), one line each as qemu_printf writes them. */
function dumpQobject(indent: number, value: unknown, lines: string[], head: string): void {
  const composite = value !== null && typeof value === "object";
  if (!composite) {
    lines.push(`${head} ${typeof value === "boolean" ? (value ? "true" : "false") : String(value)}`);
    return;
  }
  lines.push(head);
  if (Array.isArray(value)) {
    value.forEach((v, i) => dumpQobject(indent + 1, v, lines, `${" ".repeat(indent * 4)}[${i}]:`));
    return;
  }
  const dict = value as Record<string, unknown>;
  for (const key of qdictKeyOrder(Object.keys(dict))) dumpQobject(indent + 1, dict[key], lines, `${" ".repeat(indent * 4)}${key.replace(/-/g, " ")}:`);
}

/** `info_f`. */
export const infoF: CommandFn = (ctx) => {
  const bs = ctx.blk.bs;
  // format_name, then protocol_name when the driver has one (the same name for the model's drivers).
  ctx.out.line(`format name: ${bs.driver.name}`);
  if (bs.driver.protocol) ctx.out.line(`format name: ${bs.driver.name}`);
  // bdrv_get_info failing (-ENOTSUP: null-co) ends the command silently.
  const bdi = bdrvGetInfo(bs);
  if (!bdi) return;
  ctx.out.line(`cluster size: ${cvtstr(bdi.clusterSize)}`);
  ctx.out.line(`vm state offset: ${cvtstr(bdi.vmStateOffset ?? 0)}`);
  const spec = bs.driver.getSpecificInfo?.(bs);
  if (!spec) return;
  ctx.out.line("Format specific information:");
  // bdrv_image_info_specific_dump: the `data` member, from indentation 1, through qemu_printf.
  const lines: string[] = [];
  const data = spec["data"] as Record<string, unknown>;
  for (const key of qdictKeyOrder(Object.keys(data))) dumpQobject(2, data[key], lines, `    ${key.replace(/-/g, " ")}:`);
  ctx.out.monitor(lines.join("\n"));
};

/** BDRV_O_NOCACHE and BDRV_O_NO_FLUSH, as reopen_f handles them. */
interface CacheFlags {
  nocache: boolean;
  noFlush: boolean;
}

/** `bdrv_parse_cache_mode`: false for an unknown mode. */
function parseCacheMode(mode: string, flags: CacheFlags): boolean {
  const modes: Record<string, CacheFlags> = {
    off: { nocache: true, noFlush: false },
    none: { nocache: true, noFlush: false },
    directsync: { nocache: true, noFlush: false },
    writeback: { nocache: false, noFlush: false },
    unsafe: { nocache: false, noFlush: true },
    writethrough: { nocache: false, noFlush: false },
  };
  const m = modes[mode];
  if (!m) return false;
  Object.assign(flags, m);
  return true;
}

/**
 * `qemu_opts_parse_noisily(&reopen_opts, …)`: `key=value` pairs split at commas (`,,` is a comma in
 * a value), merged into the one QemuOpts of the list (later keys win in the QDict). Returns false
 * after reporting an error.
 */
function parseReopenOpts(ctx: CommandContext, text: string, into: Map<string, string>): boolean {
  let i = 0;
  while (i < text.length) {
    const nameEnd = text.slice(i).search(/[=,]/);
    const end = nameEnd < 0 ? text.length : i + nameEnd;
    if (text[end] !== "=") throw new ModelIoUnsupportedError("reopen -o with a short-form boolean option");
    const name = text.slice(i, end);
    let value = "";
    let j = end + 1;
    for (; j < text.length; j++) {
      if (text[j] === ",") {
        if (text[j + 1] !== ",") break;
        j++;
      }
      value += text[j];
    }
    // qemu_opts_create on a merge_lists list refuses an id.
    if (name === "id") {
      ctx.out.monitor("Invalid parameter 'id'");
      return false;
    }
    into.delete(name);
    into.set(name, value);
    i = j + 1;
  }
  return true;
}

export function reopenF(state: LayerState): CommandFn {
  return (ctx, argv) => {
    const bs = ctx.blk.bs;
    let rdwr = !bs.readOnly;
    const cache: CacheFlags = { nocache: optBool(bs.options["cache.direct"]), noFlush: optBool(bs.options["cache.no-flush"]) };
    let hasRwOption = false;
    let hasCacheOption = false;
    const given = new Map<string, string>();
    const { opts, operands } = getopt(argv, "c:o:rw");
    for (const o of opts) {
      if ("complaint" in o) {
        ctx.out.line(o.complaint);
        return usage(ctx);
      }
      if (o.c === "c") {
        if (!parseCacheMode(o.arg!, cache)) return ctx.out.monitor(`Invalid cache option: ${o.arg!}`);
        hasCacheOption = true;
      } else if (o.c === "o") {
        if (!parseReopenOpts(ctx, o.arg!, given)) return;
      } else {
        if (hasRwOption) return ctx.out.monitor("Only one -r/-w option may be given");
        rdwr = o.c === "w";
        hasRwOption = true;
      }
    }
    if (operands.length > 0) return usage(ctx);
    if (!rdwr) ctx.blk.setPerm(ctx.blk.perm & ~(BLK_PERM_WRITE | BLK_PERM_WRITE_UNCHANGED), ctx.blk.shared);
    const options: Record<string, unknown> = Object.fromEntries(given);
    if ("read-only" in options) {
      if (hasRwOption) return ctx.out.monitor("Cannot set both -r/-w and 'read-only'");
    } else {
      options["read-only"] = !rdwr;
    }
    if ("cache.direct" in options || "cache.no-flush" in options) {
      if (hasCacheOption) return ctx.out.monitor("Cannot set both -c and the cache options");
    } else {
      options["cache.direct"] = cache.nocache;
      options["cache.no-flush"] = cache.noFlush;
    }
    // bdrv_reopen(bs, opts, keep_old_opts=true): the subtree drained around the transaction.
    reporting(ctx, () =>
      withSubtreeDrained(state, [bs], () => {
        const queue = new ReopenQueue();
        queue.add(bs, options, true, null, 0);
        reopenMultiple(state, queue);
      }),
    );
  };
}
