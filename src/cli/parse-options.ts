/**
 * A command's arguments parsed against its option table with node:util parseArgs, and an unknown
 * option named with the closest known one (`--engin` → `--engine`), which parseArgs does not offer.
 */
import { parseArgs } from "node:util";
import { UsageError } from "../errors.js";
import { didYouMean } from "../text/did-you-mean.js";
import type { Command } from "./command.js";

export interface ParsedArgs {
  values: Record<string, unknown>;
  positionals: string[];
}

/** Parse `args` for `cmd`; a mistake is a UsageError. */
export function parseCommandArgs(cmd: Pick<Command, "options">, args: readonly string[]): ParsedArgs {
  const options = Object.fromEntries(
    // parseArgs rejects `short: undefined` / `multiple: undefined`, so only set fields are passed.
    Object.entries(cmd.options).map(([k, o]) => [
      k,
      { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) },
    ]),
  );
  // A lenient pass first, for its tokens: it shows every option as written, known or not.
  const { tokens } = parseArgs({ args: [...args], options, allowPositionals: true, strict: false, tokens: true });
  for (const t of tokens) {
    if (t.kind === "option" && !(t.name in cmd.options)) throw new UsageError(unknownOption(t.rawName, cmd));
  }
  try {
    return parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (e) {
    // What is left is a missing or unwanted value; parseArgs says which option, plainly enough.
    throw new UsageError((e as Error).message, { cause: e });
  }
}

/** "unknown option '--engin' (did you mean '--engine'?)". */
export function unknownOption(raw: string, cmd: Pick<Command, "options">): string {
  const long = raw.startsWith("--");
  const known = Object.entries(cmd.options).flatMap(([name, o]) => (long ? [`--${name}`] : o.short ? [`-${o.short}`] : []));
  // Single letters differ from every other by one edit: only a long option gets a suggestion.
  const hint = long ? didYouMean(raw, known) : undefined;
  return `unknown option '${raw}'${hint ? ` (did you mean '${hint}'?)` : ""}`;
}
