/**
 * `blockcheck ARGS…` as a user runs it, through the CLI's own entry point (src/cli/main.ts) with
 * injected streams: exit code, stdout and stderr as the user would see them, answers on stdin.
 */
import { PassThrough } from "node:stream";
import { main } from "../../../src/cli/main.js";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function blockcheck(argv: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; stdin?: string }): Promise<CliRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const stdin = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (d) => (out += d));
  stderr.on("data", (d) => (err += d));
  stdin.end(opts.stdin ?? "");
  const code = await main(argv, { stdout, stderr, stdin, env: opts.env ?? {}, cwd: opts.cwd });
  return { code, stdout: out, stderr: err };
}

/** Remove the scratch directories a run says it kept (tests leave nothing behind). */
export async function removeKept(output: string): Promise<string[]> {
  const { rm } = await import("node:fs/promises");
  const dirs = output.split("\n").filter((l) => l.includes("scratch directory kept: ")).map((l) => l.split("kept: ")[1]!.trim());
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  return dirs;
}
