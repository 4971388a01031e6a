import type { Command, CommandEntry } from "./command.js";

/** blockcheck's exit codes; `--help` and the README list them. */
export const EXIT = {
  /** Everything passed (or the command did what was asked). */
  ok: 0,
  /** A scenario failed or did not load, a `check` found problems, or the selection matched no scenario. */
  failed: 1,
  /** A usage or configuration error: bad flag, bad config file, a file that cannot be written, QEMU that cannot be run. */
  usage: 2,
  /** A bug in blockcheck (sysexits' EX_SOFTWARE); the message says so and carries the stack. */
  internal: 70,
} as const;

const EXIT_LINES = [
  "exit status:",
  `  ${EXIT.ok}      success: every run passed`,
  `  ${EXIT.failed}      a scenario failed or did not load, or nothing was selected (see --pass-with-none)`,
  `  ${EXIT.usage}      usage or configuration error (bad option, bad config file, unwritable file, QEMU missing or not runnable)`,
  `  ${EXIT.internal}     internal error: a bug in blockcheck (please report it with the message)`,
  "  128+N  killed by signal N (130 for Ctrl-C), after removing what the run had made",
];

/** `blockcheck --help`: generated from the command table. */
export function renderOverview(commands: readonly Pick<CommandEntry, "name" | "summary">[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const rows = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    "blockcheck: scenario tests for the QEMU block layer",
    "",
    "usage: blockcheck COMMAND [OPTIONS] [ARGS…]",
    "       blockcheck --help | --version",
    "",
    "commands:",
    ...rows,
    "",
    ...EXIT_LINES,
    "",
    "Run 'blockcheck help COMMAND' for a command's options.",
    "",
  ].join("\n");
}
/** `blockcheck help NAME` and `blockcheck NAME --help`. */
export function renderCommandHelp(command: Command): string {
  const lines = [`usage: blockcheck ${command.name}${command.usage ? " " + command.usage : ""}`, "", command.summary, ""];
  if (command.description) lines.push(command.description, "");
  const opts = Object.entries(command.options);
  if (opts.length > 0) {
    lines.push("options:");
    const labels = opts.map(([name, o]) => {
      const short = o.short ? `-${o.short}, ` : "    ";
      const value = o.type === "string" ? ` ${o.value ?? "VALUE"}` : "";
      return `  ${short}--${name}${value}`;
    });
    const width = Math.max(...labels.map((l) => l.length));
    opts.forEach(([, o], i) => lines.push(`${labels[i]!.padEnd(width)}  ${o.description}`));
    lines.push("");
  }
  return lines.join("\n");
}
