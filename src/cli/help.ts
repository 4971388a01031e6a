import type { Command } from "./command.js";

/** `blockcheck --help`: generated from the command table. */
export function renderOverview(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const rows = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    "blockcheck: scenario tests for the QEMU block layer",
    "",
    "usage: blockcheck COMMAND [OPTIONS] [ARGS…]",
    "",
    "commands:",
    ...rows,
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
