import { statSync } from "node:fs";
import path from "node:path";
import { createEngine } from "../../engines/factory/create.js";
import { ENGINE_KINDS, type EngineKind } from "../../engines/engine.js";
import { UsageError } from "../../errors.js";
import { ModelEngine } from "../../engines/model/model-engine.js";
import type { SessionHooks } from "../../monitor/session.js";
import { serveQmpOverStdio } from "../../monitor/stdio-server.js";
import type { Command } from "../command.js";
import { createScratch, removeScratch } from "../../runner/scratch.js";
import { didYouMean } from "../../text/did-you-mean.js";

/** `blockcheck qmp`: one engine, spoken to in QMP over standard input and output. */
export const qmpCommand: Command = {
  name: "qmp",
  summary: "speak QMP on stdin/stdout to an engine",
  usage: "[--engine model|qemu] [--workdir DIR]",
  description: [
    "Starts one engine and serves QMP on standard input and output, framed and formatted exactly as",
    "qemu-storage-daemon 7.2 does on a stdio monitor: the greeting, then one JSON reply per request",
    "(CRLF line ends, QEMU's JSON layout) and one line per event. Capabilities negotiation is required",
    "first, as on a real monitor. The session ends at end of input or after `quit`; the engine is",
    "stopped either way.",
    "",
    "Relative image paths resolve against the work directory. For the model it defaults to the",
    "current directory, so images next to you can be opened by name. For qemu it defaults to a fresh",
    "private temporary directory (QEMU also keeps its sockets and log there), removed at the end;",
    "pass --workdir to use images you made yourself.",
  ].join("\n"),
  options: {
    engine: { type: "string", short: "e", multiple: false, value: "ENGINE", description: "model (default) or qemu" },
    workdir: { type: "string", short: "w", multiple: false, value: "DIR", description: "directory relative image paths resolve against" },
  },
  async run({ values }, io) {
    const kind = (values.engine as string | undefined) ?? "model";
    if (!ENGINE_KINDS.includes(kind as EngineKind)) {
      const hint = didYouMean(kind, ENGINE_KINDS);
      throw new UsageError(`unknown engine '${kind}'${hint ? ` (did you mean '${hint}'?)` : ""}; engines: ${ENGINE_KINDS.join(", ")}`);
    }
    const given = values.workdir as string | undefined;
    const workdir = given !== undefined ? path.resolve(io.cwd, given) : kind === "model" ? io.cwd : undefined;
    if (workdir !== undefined && !isDirectory(workdir)) throw new UsageError(`--workdir: '${given}' is not a directory`);
    // A scratch directory of our own is removed at the end, on a signal, or by the next run if we are killed.
    const own = workdir === undefined ? await createScratch() : undefined;
    const scratch = workdir ?? own!.dir;
    try {
      const engine = createEngine(kind as EngineKind);
      try {
        await engine.start({ workdir: scratch });
      } catch (e) {
        await engine.stop();
        throw e;
      }
      await serveQmpOverStdio(engine, io.stdin, io.stdout, engine instanceof ModelEngine ? modelHooks(engine) : undefined);
      return 0;
    } finally {
      if (own) await removeScratch(own);
    }
  },
};

/**
 * How long the model lets its main loop run after each command (virtual time, so no real wait):
 * long enough for jobs without a speed limit to finish, bounded because a READY mirror job wakes
 * every 100 ms for ever.
 */
const MODEL_SETTLE_MS = 1000;

/** The model answers like an idle qemu-storage-daemon: its jobs run between commands. */
function modelHooks(engine: ModelEngine): SessionHooks {
  return {
    eventsAroundReply: () => engine.takeEventsAroundReply(),
    afterCommand: () => void engine.settle(MODEL_SETTLE_MS),
  };
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
