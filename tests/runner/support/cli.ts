/**
 * Invoke a command of the command table with captured output. Arguments are parsed with the
 * command's own option table, as src/cli/main.ts does (undefined option fields left out).
 */
import { PassThrough } from "node:stream";
import { parseArgs } from "node:util";
import { commands } from "../../../src/cli/commands/index.js";

export interface Invocation {
  code: number;
  stdout: string;
  stderr: string;
}

export async function invoke(argv: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; stdin?: string }): Promise<Invocation> {
  const [name, ...rest] = argv;
  const cmd = await commands.find((c) => c.name === name)?.load();
  if (!cmd) throw new Error(`no command ${name}`);
  const options = Object.fromEntries(
    Object.entries(cmd.options).map(([k, o]) => [
      k,
      { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) },
    ]),
  );
  const parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
  let stdout = "";
  let stderr = "";
  const out = new PassThrough();
  const err = new PassThrough();
  out.on("data", (d) => (stdout += d));
  err.on("data", (d) => (stderr += d));
  const stdin = new PassThrough();
  stdin.end(opts.stdin ?? "");
  const code = await cmd.run(parsed, { stdout: out, stderr: err, stdin, env: opts.env ?? {}, cwd: opts.cwd });
  return { code, stdout, stderr };
}
