/**
 * `blockcheck qmp`: QMP on a pair of streams, in front of a started Engine. The greeting first, then
 * one reply line per request, each preceded by the events raised meanwhile, framed and formatted as
 * qemu-storage-daemon 7.2 does on a `--chardev stdio` monitor (CRLF line ends, QEMU's JSON layout),
 * so its output is byte-comparable with the real daemon's.
 *
 * Ends at end of input (unlike QEMU, which keeps running), after a successful `quit`, or when the
 * reader goes away (EPIPE); the engine is stopped in every case.
 */
import { once } from "node:events";
import type { Readable, Writable } from "node:stream";
import type { Engine } from "../engines/engine.js";
import { BlockcheckError } from "../errors.js";
import { QmpJsonStreamer, type StreamedMessage } from "./json-lexer.js";
import { MonitorSession, type SessionHooks } from "./session.js";

/** QEMU's monitor turns every "\n" it prints into "\r\n". */
const EOL = "\r\n";

/** The output stream failed (e.g. EPIPE: the reader went away); the session was ended. */
export class StdioOutputError extends BlockcheckError {
  constructor(cause: unknown) {
    super("E_QMP_STDIO_OUTPUT", `cannot write QMP output: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/**
 * Serve QMP from `input` to `output` until end of input or `quit`, then stop the engine. Requests are
 * handled one at a time, in order. Rejects (after stopping the engine) if the engine fails
 * (its own error) or the output fails other than by EPIPE (StdioOutputError).
 */
export async function serveQmpOverStdio(engine: Engine, input: Readable, output: Writable, hooks?: SessionHooks): Promise<void> {
  const session = new MonitorSession(engine, hooks);
  let outputError: unknown;
  const onOutputError = (e: unknown) => {
    outputError ??= e;
    input.destroy(); // ends the read loop below
  };
  output.on("error", onOutputError);
  const write = async (line: string) => {
    if (outputError !== undefined) throw outputError;
    if (!output.write(line + EOL)) await once(output, "drain");
  };
  try {
    await write(session.greeting());
    const pending: StreamedMessage[] = [];
    const streamer = new QmpJsonStreamer((m) => pending.push(m));
    for await (const chunk of input) {
      streamer.feed(typeof chunk === "string" ? Buffer.from(chunk, "utf8") : (chunk as Buffer));
      while (pending.length > 0) {
        const out = await session.handle(pending.shift()!);
        for (const line of out.lines) await write(line);
        if (out.quit) return;
      }
    }
    if (outputError !== undefined) throw outputError;
    for (const line of session.pendingEvents()) await write(line);
  } catch (e) {
    // Once the output failed, whatever ended the loop (the destroyed input, a failed write) is
    // that failure. A reader that went away (EPIPE, as with `| head -1`) just ends the session.
    if (outputError === undefined) throw e;
    if ((outputError as NodeJS.ErrnoException).code === "EPIPE") return;
    throw new StdioOutputError(outputError);
  } finally {
    output.off("error", onOutputError);
    await engine.stop();
  }
}
