/** Whether a QEMU program runs here (`--version`), taken from its `*_PROG` variable or its default name. */
import { execFileSync } from "node:child_process";

export function programRuns(envVar: string, fallback: string): boolean {
  try {
    execFileSync(process.env[envVar] ?? fallback, ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
