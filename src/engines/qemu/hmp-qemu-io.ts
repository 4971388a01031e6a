/**
 * qemu-io through HMP (`human-monitor-command` → `qemu-io NODE "CMD"`). QEMU 7.2 prints qemu-io's
 * output on its own stdout, not in the reply. That stdout is line-buffered and goes to the log file:
 * each line is one write(2) on the monitor thread, done before the reply is sent (seen with strace).
 * So a command's output is exactly what the log gained between sending it and its reply; no pipe
 * to drain, no race between two streams. Calls are serialised so two io steps never share a slice.
 */
import { BlockcheckError } from "../../errors.js";
import type { QmpReply } from "../engine.js";
import { logSize, readLogFrom } from "./log-file.js";

/** A node name or qemu-io command that cannot be passed through HMP, or an HMP-level failure. */
export class QemuIoError extends BlockcheckError {
  constructor(message: string) {
    super("E_QEMU_IO", message);
  }
}

/** The HMP command line; the qemu-io command is quoted with HMP's escapes (\" and \\). */
export function qemuIoCommandLine(node: string, command: string): string {
  if (!/^[^\s"\\]+$/.test(node)) throw new QemuIoError(`io: invalid node name ${JSON.stringify(node)}`);
  if (/[\r\n]/.test(command)) throw new QemuIoError("io: a qemu-io command must be one line");
  return `qemu-io ${node} "${command.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

type Send = (command: string, args: Record<string, unknown>) => Promise<QmpReply>;

export class HmpQemuIo {
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly send: Send,
    private readonly logPath: string,
  ) {}

  /** Run one qemu-io command on `node`; resolves with its raw output (log slice, then any HMP text). */
  run(node: string, command: string): Promise<string> {
    let commandLine: string;
    try {
      commandLine = qemuIoCommandLine(node, command);
    } catch (error) {
      return Promise.reject(error);
    }
    const result = this.#queue.then(() => this.#run(commandLine));
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #run(commandLine: string): Promise<string> {
    const before = await logSize(this.logPath);
    const reply = await this.send("human-monitor-command", { "command-line": commandLine });
    if ("error" in reply) throw new QemuIoError(`io: ${reply.error.class}: ${reply.error.desc}`);
    const printed = await readLogFrom(this.logPath, before);
    // HMP's own messages (e.g. an unknown device) come back in the reply instead.
    return printed + (typeof reply.return === "string" ? reply.return : "");
  }
}
