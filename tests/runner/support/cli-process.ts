/**
 * The blockcheck CLI as a separate process (from the sources, through tsx), in a throwaway project
 * with its own TMPDIR, and /proc views of the processes it started: for tests that interrupt or kill
 * a run and then look at what it left behind.
 */
import { execa, type ResultPromise } from "execa";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const entry = fileURLToPath(new URL("../fixtures/cli-child.mts", import.meta.url));
const tsx = import.meta.resolve("tsx");

/** Start `blockcheck ARGS…` in `cwd` with `env` added to ours. */
export function startCli(args: string[], opts: { cwd: string; env: Record<string, string> }): ResultPromise<{ reject: false }> {
  return execa(process.execPath, ["--import", tsx, entry, ...args], {
    cwd: opts.cwd,
    env: { ...opts.env, CI: "" },
    reject: false,
    timeout: 60_000,
  }) as ResultPromise<{ reject: false }>;
}

interface ProcInfo {
  pid: number;
  ppid: number;
  state: string;
  cmdline: string;
}

/** Every process on the system that is not a zombie. */
export function processes(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const cmdline = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0").join(" ");
      if (fields[0] !== "Z") out.push({ pid: Number(name), ppid: Number(fields[1]), state: fields[0]!, cmdline });
    } catch {
      // Gone while we looked.
    }
  }
  return out;
}

/** Poll until `test` holds (true) or `ms` pass (false). */
export async function waitFor(test: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return true;
}
