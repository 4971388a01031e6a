import type { Readable, Writable } from "node:stream";

/** The process surroundings a command runs in; injected so commands are testable without a process. */
export interface CliIo {
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean };
  stdin: Readable;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** One option of a command, as node:util parseArgs takes it, plus help text. */
export interface CommandOption {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
  /** Placeholder shown in help for string options, e.g. "N" or "FILE". */
  value?: string;
  description: string;
}

/** An entry of the command table: help and docs are generated from these fields. */
export interface Command {
  /** The word after `blockcheck`. */
  name: string;
  /** One line for `blockcheck --help`. */
  summary: string;
  /** Synopsis after the command name, e.g. "[PATH…]". */
  usage: string;
  /** Paragraphs for `blockcheck help NAME`. */
  description: string;
  options: Record<string, CommandOption>;
  /** Runs the command; resolves to the exit code (0 ok, 1 failures, 2 usage/config error). */
  run(args: { values: Record<string, unknown>; positionals: string[] }, io: CliIo): Promise<number>;
}

/**
 * A row of the command table: what `blockcheck --help` lists, and how to import the command. Commands
 * are imported only when used, so that `--help` does not load the engines behind them.
 */
export interface CommandEntry {
  /** The word after `blockcheck`; equal to the loaded command's `name`. */
  name: string;
  /** One line for `blockcheck --help`; equal to the loaded command's `summary`. */
  summary: string;
  /** Imports the command's module. */
  load(): Promise<Command>;
}
