/**
 * One QMP monitor session as qemu-storage-daemon 7.2 runs it (monitor/qmp.c, qapi/qmp-dispatch.c),
 * in front of an Engine: the request checks QEMU makes before a command runs, capabilities
 * negotiation, `id` echo, and QEMU's reply layout. The engine itself is always in command mode, so
 * negotiation is emulated here and `qmp_capabilities` never reaches it before negotiation.
 */
import type { Engine } from "../engines/engine.js";
import { qdictKeyOrder, toQdictOrder } from "../qapi/qdict-order.js";
import { qmpCommandNames, validateQmpCommand } from "../qapi/validate.js";
import { QmpFloat, type QmpErrorBody, type QmpEvent, type QmpReply } from "../qmp/wire.js";
import type { StreamedMessage } from "./json-lexer.js";
import { parseTokens, type QmpValue } from "./json-parser.js";
import { toQemuJson } from "./json-writer.js";

/** What one input message produced: event and reply lines (no line ends), and whether `quit` succeeded. */
export interface SessionOutput {
  lines: string[];
  quit: boolean;
}

type Dict = { [key: string]: QmpValue };

const isDict = (v: unknown): v is Dict => typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof QmpFloat);

/** A JSON object with its keys in QDict order, the order QEMU prints a dict it built in this order. */
function qdict(entries: [string, unknown][]): Record<string, unknown> {
  const byKey = new Map(entries);
  return Object.fromEntries(qdictKeyOrder(entries.map(([k]) => k)).map((k) => [k, byKey.get(k)]));
}

function errorReply(cls: string, desc: string): { error: QmpErrorBody } {
  return { error: { class: cls, desc } };
}

/**
 * What an engine with its own main loop (the model) adds to a session, so that its output is
 * QEMU's: which events came before a reply and which after it, and letting queued work (block
 * jobs) run between commands as on an idle QEMU.
 */
export interface SessionHooks {
  /** The queued events, split where the last reply went out. */
  eventsAroundReply(): { beforeReply: QmpEvent[]; afterReply: QmpEvent[] };
  /** Run what is due before the next command is read; its events come next. */
  afterCommand(): void;
}

/** Serves one client; feed it the streamer's messages in order. */
export class MonitorSession {
  private negotiated = false;
  private oob = false;
  private readonly known = new Set(qmpCommandNames());

  constructor(
    private readonly engine: Engine,
    private readonly hooks?: SessionHooks,
  ) {}

  /** The greeting line, exactly as the engine's QEMU sends it. */
  greeting(): string {
    return toQemuJson(this.engine.describe().greeting);
  }

  /** Handle one streamed message: a parse error, or a request. */
  async handle(message: StreamedMessage): Promise<SessionOutput> {
    const parsed = "error" in message ? message : parseTokens(message.tokens);
    if ("error" in parsed) return this.reply(errorReply("GenericError", parsed.error), undefined);
    const request = parsed.value;
    if (!isDict(request)) return this.reply(errorReply("GenericError", "QMP input must be a JSON object"), undefined);
    const id = request.id;
    const checked = this.checkRequest(request);
    if ("error" in checked) return this.reply(checked, id);
    const { command, oob } = checked;
    const args = request.arguments as Dict | undefined;

    if (!this.negotiated) {
      if (command !== "qmp_capabilities") {
        // QEMU rewrites CommandNotFound in negotiation mode into this hint.
        return this.reply(errorReply("CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'"), id);
      }
      if (oob) return this.reply(errorReply("GenericError", `The command ${command} does not support OOB`), id);
      const v = validateQmpCommand(command, args);
      if (!v.ok) return this.reply({ error: v.error }, id);
      this.negotiated = true;
      this.oob = ((v.args.enable as string[] | undefined) ?? []).includes("oob");
      return this.reply({ return: {} }, id);
    }
    if (oob) {
      const reply = this.known.has(command)
        ? errorReply("GenericError", `The command ${command} does not support OOB`)
        : errorReply("CommandNotFound", `The command ${command} has not been found`);
      return this.reply(reply, id);
    }
    const reply = await this.engine.qmp(command, args);
    // QEMU writes an event the moment it is emitted, so events raised while a command runs (e.g.
    // BLOCK_EXPORT_DELETED when block-export-del finds no client) come before its reply, and those
    // of work it left for the main loop (a block job) after it.
    const split = this.hooks?.eventsAroundReply();
    const out = this.reply(reply, id);
    out.lines.unshift(...(split ? split.beforeReply.map(formatEvent) : this.pendingEvents()));
    out.quit = command === "quit" && "return" in reply;
    if (split) out.lines.push(...split.afterReply.map(formatEvent));
    if (this.hooks && !out.quit) {
      this.hooks.afterCommand();
      out.lines.push(...this.pendingEvents());
    }
    return out;
  }

  /** Event lines the engine has queued and not yet handed out. */
  pendingEvents(): string[] {
    return this.engine.takeEvents().map(formatEvent);
  }

  /** qmp_dispatch_check_obj(): members in QDict order, then `execute` (or `exec-oob`) must be there. */
  private checkRequest(request: Dict): { command: string; oob: boolean } | { error: QmpErrorBody } {
    let execKey: string | undefined;
    for (const key of qdictKeyOrder(Object.keys(request))) {
      const value = request[key];
      if (key === "execute" || (key === "exec-oob" && this.oob)) {
        if (typeof value !== "string") return errorReply("GenericError", `QMP input member '${key}' must be a string`);
        if (execKey) return errorReply("GenericError", `QMP input member '${key}' clashes with '${execKey}'`);
        execKey = key;
      } else if (key === "arguments") {
        if (!isDict(value)) return errorReply("GenericError", "QMP input member 'arguments' must be an object");
      } else if (key !== "id") {
        return errorReply("GenericError", `QMP input member '${key}' is unexpected`);
      }
    }
    if (!execKey) return errorReply("GenericError", "QMP input lacks member 'execute'");
    return { command: request[execKey] as string, oob: execKey === "exec-oob" };
  }

  private reply(reply: QmpReply, id: QmpValue | undefined): SessionOutput {
    const body: [string, unknown][] = "return" in reply ? [["return", reply.return]] : [["error", reply.error]];
    // The id was parsed into a QDict, so its own objects print in QDict order too.
    if (id !== undefined) body.push(["id", toQdictOrder(id)]);
    return { lines: [toQemuJson(qdict(body))], quit: false };
  }
}

/** An event line: QEMU builds {event, data, timestamp} as a QDict. */
function formatEvent(e: QmpEvent): string {
  const entries: [string, unknown][] = [["event", e.event]];
  if (e.data !== undefined) entries.push(["data", e.data]);
  if (e.timestamp) entries.push(["timestamp", qdict([["seconds", e.timestamp.seconds], ["microseconds", e.timestamp.microseconds]])]);
  return toQemuJson(qdict(entries));
}
