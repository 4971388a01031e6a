/**
 * `qemuio_command` and `command` (qemu-io-cmds.c): split the line at spaces, find the command,
 * check its argument count, let its BlockBackend take the permission it needs, run it. Commands
 * the model cannot run are a ModelIoUnsupportedError, never a made-up answer.
 */
import { isInserted } from "../data/block-io.js";
import { ModelIoUnsupportedError } from "../data/io-error.js";
import type { LayerState } from "../layer-state.js";
import { QmpFailure } from "../qmp-failure.js";
import type { IoBackend } from "./backend.js";
import type { CommandContext, CommandFn } from "./command-context.js";
import { aioReadF, readF, readvF } from "./commands-read.js";
import { abortF, aioFlushF, allocF, discardF, flushF, helpF, lengthF, mapF, sleepF } from "./commands-misc.js";
import { breakF, removeBreakF, resumeF, waitBreakF } from "./commands-debug.js";
import { infoF, reopenF, truncateF } from "./commands-node.js";
import { aioWriteF, writeF, writevF } from "./commands-write.js";
import { findCommand } from "./command-table.js";
import type { QemuIoOutput } from "./output.js";

/**
 * What the model runs on a node without its driver (qcow2_signal_corruption) or above one: requests
 * that blk_check_byte_request or blk_co_do_flush fail with -ENOMEDIUM before they reach a node, and
 * the commands that ask blk_getlength first.
 */
const WITHOUT_DRIVER = new Set(["read", "readv", "write", "writev", "flush", "map", "length"]);

/** The commands the model runs, by name. */
function commandFunctions(state: LayerState): ReadonlyMap<string, CommandFn> {
  return new Map<string, CommandFn>([
    ["read", readF],
    ["readv", readvF],
    ["aio_read", aioReadF],
    ["write", writeF],
    ["writev", writevF],
    ["aio_write", aioWriteF],
    ["aio_flush", aioFlushF(state)],
    ["flush", flushF],
    ["discard", discardF],
    ["alloc", allocF(state)],
    ["map", mapF(state)],
    ["length", lengthF],
    ["info", infoF],
    ["truncate", truncateF(state)],
    ["reopen", reopenF(state)],
    ["break", breakF],
    ["remove_break", removeBreakF],
    ["resume", resumeF],
    ["wait_break", waitBreakF],
    ["sleep", sleepF],
    ["help", helpF],
    ["abort", abortF],
  ]);
}

/** `bad argument count …`, as `command` words it. */
function argumentCountError(given: number, typed: string, min: number, max: number): string {
  if (max === -1) return `bad argument count ${given} to ${typed}, expected at least ${min} arguments`;
  if (min === max) return `bad argument count ${given} to ${typed}, expected ${min} arguments`;
  return `bad argument count ${given} to ${typed}, expected between ${min} and ${max} arguments`;
}

/** `qemuio_command(blk, cmd)`: what it prints goes to `out`. */
export function qemuioCommand(state: LayerState, blk: IoBackend, line: string, out: QemuIoOutput): void {
  // breakline: split at single spaces, empty words dropped.
  const argv = line.split(" ").filter((w) => w !== "");
  if (argv.length === 0) return;
  const ct = findCommand(argv[0]!);
  if (!ct) return out.line(`command "${argv[0]}" not found`);
  const given = argv.length - 1;
  if (given < ct.argmin || (ct.argmax !== -1 && given > ct.argmax)) return out.line(argumentCountError(given, argv[0]!, ct.argmin, ct.argmax));
  const fn = commandFunctions(state).get(ct.name);
  if (!fn) throw new ModelIoUnsupportedError(`the qemu-io command '${ct.name}'`);
  if (!isInserted(blk.bs) && (!WITHOUT_DRIVER.has(ct.name) || argv.includes("-b"))) {
    throw new ModelIoUnsupportedError(`the qemu-io command '${ct.name}' on a node whose qcow2 driver a corruption took away`);
  }
  if (ct.perm & ~blk.perm) {
    try {
      blk.setPerm(blk.perm | ct.perm, blk.shared);
    } catch (e) {
      if (!(e instanceof QmpFailure)) throw e;
      // error_report_err: the message, then any hint appended to it.
      return out.monitor(e.hint === undefined ? e.body.desc : `${e.body.desc}\n${e.hint}`);
    }
  }
  const ctx: CommandContext = { blk, out, info: ct, sleep: (ms) => state.loop.run(ms) };
  fn(ctx, argv);
}
