import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createEngine, type EngineKind } from "../../engines/create.js";
import { UsageError } from "../../errors.js";
import { serveQmpOverStdio } from "../../qmp/stdio-server.js";
import type { Command } from "../command.js";
import { didYouMean } from "../../text/did-you-mean.js";

const ENGINES: readonly EngineKind[] = ["model", "qemu"];

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
    if (!ENGINES.includes(kind as EngineKind)) {
      const hint = didYouMean(kind, ENGINES);
      throw new UsageError(`unknown engine '${kind}'${hint ? ` (did you mean '${hint}'?)` : ""}; engines: ${ENGINES.join(", ")}`);
    }
    const given = values.workdir as string | undefined;
    const workdir = given !== undefined ? path.resolve(io.cwd, given) : kind === "model" ? io.cwd : undefined;
    if (workdir !== undefined && !isDirectory(workdir)) throw new UsageError(`--workdir: '${given}' is not a directory`);
    const scratch = workdir ?? mkdtempSync(path.join(tmpdir(), "blockcheck-qmp-"));
    try {
      const engine = createEngine(kind as EngineKind);
      try {
        await engine.start({ workdir: scratch });
      } catch (e) {
        await engine.stop();
        throw e;
      }
      await serveQmpOverStdio(engine, io.stdin, io.stdout);
      return 0;
    } finally {
      if (workdir === undefined) rmSync(scratch, { recursive: true, force: true });
    }
  },
};

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
