import { parseArgs } from "node:util";
import { BlockcheckError } from "../errors.js";
import type { CliIo, Command } from "./command.js";
import { commands } from "./commands/index.js";
import { renderCommandHelp, renderOverview } from "./help.js";
import { didYouMean } from "../text/did-you-mean.js";

/** Entry point of the `blockcheck` binary; returns the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === "--help" || first === "-h") {
    io.stdout.write(renderOverview(commands));
    return first === undefined ? 2 : 0;
  }
  if (first === "help") {
    if (rest.length === 0) {
      io.stdout.write(renderOverview(commands));
      return 0;
    }
    const cmd = find(rest[0]!, io);
    if (!cmd) return 2;
    io.stdout.write(renderCommandHelp(cmd));
    return 0;
  }
  const cmd = find(first, io);
  if (!cmd) return 2;
  if (rest.includes("--help") || rest.includes("-h")) {
    io.stdout.write(renderCommandHelp(cmd));
    return 0;
  }
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    const options = Object.fromEntries(
      // parseArgs rejects `short: undefined` / `multiple: undefined`, so only set fields are passed.
      Object.entries(cmd.options).map(([k, o]) => [
        k,
        { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) },
      ]),
    );
    parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
  } catch (e) {
    io.stderr.write(`blockcheck ${cmd.name}: error: ${(e as Error).message}\n`);
    io.stderr.write(`Run 'blockcheck help ${cmd.name}' for usage.\n`);
    return 2;
  }
  try {
    return await cmd.run(parsed, io);
  } catch (e) {
    if (e instanceof BlockcheckError) {
      io.stderr.write(`blockcheck ${cmd.name}: error: ${e.message}\n`);
      return e.code === "E_USAGE" || e.code === "E_CONFIG" ? 2 : 1;
    }
    io.stderr.write(`blockcheck ${cmd.name}: internal error (this is a bug): ${(e as Error)?.stack ?? String(e)}\n`);
    return 70;
  }
}

function find(name: string, io: CliIo): Command | undefined {
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    const hint = didYouMean(name, commands.map((c) => c.name));
    io.stderr.write(`blockcheck: error: unknown command '${name}'${hint ? ` (did you mean '${hint}'?)` : ""}\n`);
    io.stderr.write("Run 'blockcheck --help' for the list of commands.\n");
  }
  return cmd;
}
