import type { Command } from "./command.js";

/** A placeholder for a command that is planned but not built: it says so plainly and exits 2. */
export function notYet(name: string, summary: string): Command {
  return {
    name,
    summary: `${summary} (not implemented yet)`,
    usage: "",
    description: `'blockcheck ${name}' does not exist yet.`,
    options: {},
    async run(_args, io) {
      io.stderr.write(`blockcheck: error: 'blockcheck ${name}' does not exist yet\n`);
      return 2;
    },
  };
}
