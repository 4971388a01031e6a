/** `blockcheck ARGS…` as a user types it (through main, the binary's entry point), with output captured. */
import { PassThrough } from "node:stream";
import { main } from "../../src/cli/main.js";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function blockcheck(argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = "";
  let stderr = "";
  out.on("data", (d) => (stdout += d));
  err.on("data", (d) => (stderr += d));
  const code = await main(argv, { stdout: out, stderr: err, stdin: new PassThrough(), env: opts.env ?? {}, cwd: opts.cwd ?? process.cwd() });
  return { code, stdout, stderr };
}
