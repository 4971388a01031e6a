import { BlockcheckError } from "../errors.js";
import type { CliIo, CommandEntry } from "./command.js";
import { commands } from "./commands/index.js";
import { EXIT, renderCommandHelp, renderOverview } from "./help.js";
import { parseCommandArgs } from "./parse-options.js";
import { blockcheckVersion } from "./version.js";
import { didYouMean } from "../text/did-you-mean.js";

/** Options that stand before any command. */
const GLOBAL_OPTIONS = ["--help", "-h", "--version"];

/**
 * Entry point of the `blockcheck` binary; returns the exit code. Only the command that runs is
 * imported, so `--help` and `--version` load none of the engines.
 */
export async function main(argv: string[], io: CliIo): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (e) {
    io.stderr.write(`blockcheck: internal error (this is a bug): ${(e as Error)?.stack ?? String(e)}\n`);
    return EXIT.internal;
  }
}

async function dispatch(argv: string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === "--help" || first === "-h") {
    io.stdout.write(renderOverview(commands));
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  if (first === "--version") {
    io.stdout.write(`blockcheck ${await blockcheckVersion()}\n`);
    return EXIT.ok;
  }
  if (first.startsWith("-")) {
    const hint = didYouMean(first, GLOBAL_OPTIONS.filter((o) => o.startsWith("--")));
    io.stderr.write(`blockcheck: error: unknown option '${first}'${hint ? ` (did you mean '${hint}'?)` : ""}\n`);
    io.stderr.write("Run 'blockcheck --help' for usage.\n");
    return EXIT.usage;
  }
  if (first === "help") {
    if (rest.length === 0) {
      io.stdout.write(renderOverview(commands));
      return EXIT.ok;
    }
    const entry = find(rest[0]!, io);
    if (!entry) return EXIT.usage;
    io.stdout.write(renderCommandHelp(await entry.load()));
    return EXIT.ok;
  }
  const entry = find(first, io);
  if (!entry) return EXIT.usage;
  const cmd = await entry.load();
  if (rest.includes("--help") || rest.includes("-h")) {
    io.stdout.write(renderCommandHelp(cmd));
    return EXIT.ok;
  }
  let parsed;
  try {
    parsed = parseCommandArgs(cmd, rest);
  } catch (e) {
    if (!(e instanceof BlockcheckError)) throw e;
    io.stderr.write(`blockcheck ${cmd.name}: error: ${e.message}\n`);
    io.stderr.write(`Run 'blockcheck help ${cmd.name}' for usage.\n`);
    return EXIT.usage;
  }
  try {
    return await cmd.run(parsed, io);
  } catch (e) {
    if (e instanceof BlockcheckError) {
      io.stderr.write(`blockcheck ${cmd.name}: error: ${e.message}\n`);
      return e.code === "E_USAGE" || e.code === "E_CONFIG" ? EXIT.usage : EXIT.failed;
    }
    io.stderr.write(`blockcheck ${cmd.name}: internal error (this is a bug): ${(e as Error)?.stack ?? String(e)}\n`);
    return EXIT.internal;
  }
}

function find(name: string, io: CliIo): CommandEntry | undefined {
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    const hint = didYouMean(name, commands.map((c) => c.name));
    io.stderr.write(`blockcheck: error: unknown command '${name}'${hint ? ` (did you mean '${hint}'?)` : ""}\n`);
    io.stderr.write("Run 'blockcheck --help' for the list of commands.\n");
  }
  return entry;
}
