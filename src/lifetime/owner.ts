/**
 * Which process owns a file or directory we leave while working (a scratch directory, a temporary
 * golden): its pid and, where /proc tells it, the process's start time, so that a pid reused by an
 * unrelated process does not keep a dead run's litter alive. A later run removes what belongs to
 * owners that are gone.
 */
import { readFileSync } from "node:fs";

/** `PID START` for this process (START is empty without /proc). */
export function ownerStamp(pid: number = process.pid): string {
  return `${pid} ${startTime(pid) ?? ""}`.trimEnd();
}

/** Whether the process a stamp names is still running (a stamp that does not parse counts as alive). */
export function ownerAlive(stamp: string): boolean {
  const m = /^(\d+)(?: (\d+))?\s*$/.exec(stamp);
  if (!m) return true;
  const pid = Number(m[1]);
  if (!pidAlive(pid)) return false;
  const start = startTime(pid);
  return m[2] === undefined || start === undefined || start === m[2];
}

/** Whether a process with this pid exists (one we may not signal exists too). */
export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Field 22 of /proc/PID/stat (start time in clock ticks since boot), or undefined. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "PID (comm) STATE …": comm may hold spaces and parentheses, so count fields after the last ")".
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}
