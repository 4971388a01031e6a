/**
 * HMP `qemu-io DEVICE "COMMAND"` as QEMU 7.2 runs it (block/monitor/block-hmp-cmds.c `hmp_qemu_io`):
 * there is no BlockBackend by that name (the model has none with names), so the node is looked up,
 * a temporary BlockBackend with no permissions is put on it, the command runs, and the BlockBackend
 * goes again, taking whatever permission the command added with it. Returns what QEMU prints, as
 * the qemu engine returns it (see output.ts).
 */
import { acquireNodeContext } from "../aio-context/iothread-objects.js";
import { BlockcheckError } from "../../../errors.js";
import type { LayerState } from "../layer-state.js";
import { QmpFailure } from "../qmp-failure.js";
import { IoBackend } from "./backend.js";
import { QemuIoOutput } from "./output.js";
import { qemuioCommand } from "./qemuio-command.js";

/**
 * What cannot be passed as one HMP command line: the qemu engine refuses the same (its
 * `qemuIoCommandLine`, with this code and these words), so both engines fail alike.
 */
export class HmpCommandLineError extends BlockcheckError {
  constructor(message: string) {
    super("E_QEMU_IO", message);
  }
}

export function hmpQemuIo(state: LayerState, device: string, command: string): string {
  if (!/^[^\s"\\]+$/.test(device)) throw new HmpCommandLineError(`io: invalid node name ${JSON.stringify(device)}`);
  if (/[\r\n]/.test(command)) throw new HmpCommandLineError("io: a qemu-io command must be one line");
  const out = new QemuIoOutput();
  const node = state.findNode(device);
  // bdrv_lookup_bs(NULL, device) and hmp_handle_error.
  if (!node) {
    out.monitor(`Error: Cannot find device='' nor node-name='${device}'`);
    return out.text();
  }
  // hmp_qemu_io takes the node's context before it makes and inserts its BlockBackend.
  acquireNodeContext(state, node);
  let blk: IoBackend;
  try {
    blk = new IoBackend(state, node);
  } catch (e) {
    if (!(e instanceof QmpFailure)) throw e;
    // hmp_handle_error → error_reportf_err: prefixed message, then any hint.
    out.monitor(e.hint === undefined ? `Error: ${e.body.desc}` : `Error: ${e.body.desc}\n${e.hint}`);
    return out.text();
  }
  try {
    state.stderrLine = (line) => out.line(line);
    qemuioCommand(state, blk, command, out);
  } finally {
    state.stderrLine = undefined;
    blk.unref();
  }
  return out.text();
}
