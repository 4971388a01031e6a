/**
 * QEMU dies with blockcheck, however blockcheck dies. The reaper kills QEMU on SIGINT, SIGTERM and
 * SIGHUP, but SIGKILL and the OOM killer run no handler; only the kernel can then end the children:
 * a parent-death signal (prctl PR_SET_PDEATHSIG), set between fork and exec. Node cannot do that
 * itself, so each QEMU binary (qemu-storage-daemon, qemu-system, qemu-img) is started through
 * util-linux `setpriv --pdeathsig KILL -- BINARY ARGS…`, which sets it and execs the binary: same
 * pid, same descriptors, and the signal survives exec. Without setpriv the binary runs directly and
 * the CLI says what that costs (parentDeathWarning).
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import path from "node:path";

export interface Launcher {
  /** The program to spawn. */
  file: string;
  args: string[];
  /** Whether setpriv stands in front of the binary (its exec failures are its exit codes 126 and 127). */
  viaSetpriv: boolean;
}

/** Search path → what was found there (asking setpriv for its options costs a process). */
const found = new Map<string, string | undefined>();

/** The first setpriv on `searchPath`, if it knows --pdeathsig; else undefined. */
export function findSetpriv(searchPath: string = process.env.PATH ?? ""): string | undefined {
  if (found.has(searchPath)) return found.get(searchPath);
  let setpriv: string | undefined;
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, "setpriv");
    try {
      accessSync(candidate, constants.X_OK);
    } catch {
      continue;
    }
    // util-linux before 2.33 has no --pdeathsig.
    const help = spawnSync(candidate, ["--help"], { encoding: "utf8", timeout: 5_000 });
    if (help.stdout?.includes("--pdeathsig")) setpriv = candidate;
    break;
  }
  found.set(searchPath, setpriv);
  return setpriv;
}

/** How to start `binary` so that it is SIGKILLed when this process dies. */
export function dieWithParent(binary: string, args: readonly string[]): Launcher {
  return launcher(binary, args, findSetpriv());
}

/** `binary` started through `setpriv` (when there is one) to set the parent-death signal. */
export function launcher(binary: string, args: readonly string[], setpriv: string | undefined): Launcher {
  if (setpriv === undefined) return { file: binary, args: [...args], viaSetpriv: false };
  return { file: setpriv, args: ["--pdeathsig", "KILL", "--", binary, ...args], viaSetpriv: true };
}

/** setpriv's exit status when it could not exec the binary: 127 not found, 126 not executable. */
export function setprivCouldNotExec(launcher: Launcher, exitCode: number | undefined): boolean {
  return launcher.viaSetpriv && (exitCode === 126 || exitCode === 127);
}

/** A warning for the CLI when QEMU cannot be tied to blockcheck's life, else undefined. */
export function parentDeathWarning(searchPath?: string): string | undefined {
  if (findSetpriv(searchPath) !== undefined) return undefined;
  return "setpriv (util-linux) with --pdeathsig not found on PATH: if blockcheck is killed with SIGKILL, its QEMU processes will outlive it";
}
