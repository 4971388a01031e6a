/**
 * Fake QEMU binaries for fault tests: each mode gets a tiny executable wrapper (in a temp dir the caller
 * removes) that runs fixtures/fake-qemu.mjs in that mode.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export type FakeMode = "ok" | "ignore-quit" | "hang" | "exit-early" | "no-connect" | "garbage" | "crash-at-quit" | "refuse-capabilities" | "crash-at-setup";

const script = fileURLToPath(new URL("./fixtures/fake-qemu.mjs", import.meta.url));

export class FakeQemu {
  readonly dir = mkdtempSync(join(tmpdir(), "bc-fakeqemu-"));

  /** Path of an executable that behaves as `mode`. */
  binary(mode: FakeMode): string {
    const path = join(this.dir, `fake-qsd-${mode}`);
    writeFileSync(path, `#!/bin/sh\nexec "${process.execPath}" "${script}" ${mode} "$@"\n`);
    chmodSync(path, 0o755);
    return path;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Whether a process with this pid exists and is not a zombie (dead, waiting for its parent to reap it). */
export function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // "PID (comm) STATE …"; comm may hold spaces or parentheses, so read after the last ")".
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/**
 * Whether the process is gone within `ms`. For a process SIGKILLed by another process that has itself
 * just died: the kernel finishes the kill a moment later, so this waits, bounded.
 */
export async function goneWithin(pid: number | undefined, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}
