/**
 * Where the engine keeps its QMP socket and QEMU's log: in the scenario's scratch directory when that
 * is already private (0700, ours), else in a fresh 0700 directory inside it. File names carry a random
 * tag so several engines can share one scratch directory. A UNIX socket path must fit in sun_path
 * (108 bytes on Linux), so when the scratch path is too deep the socket alone moves to a fresh 0700
 * directory under the system temp dir.
 */
import { randomBytes } from "node:crypto";
import { statSync } from "node:fs";
import { mkdtemp, rm, rmdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Longest socket path we hand to bind(); sun_path is 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH = 100;

export interface ScratchArea {
  /** The private directory holding the log (the workdir itself, or a 0700 directory inside it). */
  dir: string;
  /** Where QEMU's stdout and stderr go (one file, so their order is kept). */
  logPath: string;
  /** Where we listen for QEMU's monitor connection. */
  socketPath: string;
  /** Remove what this created (the log too, unless keep is set). Idempotent. */
  remove(opts: { keep: boolean }): Promise<void>;
}

/** Create the engine's scratch area under `workdir`. */
export async function createScratchArea(workdir: string): Promise<ScratchArea> {
  const ownDir = !isPrivate(workdir);
  // mkdtemp creates the directory with mode 0700.
  const dir = ownDir ? await mkdtemp(join(workdir, ".qemu-")) : workdir;
  const tag = `.qemu-${randomBytes(4).toString("hex")}`;
  let socketDir: string | undefined;
  let socketPath = join(dir, `${tag}.sock`);
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    socketDir = await mkdtemp(join(tmpdir(), "blockcheck-qmp-"));
    socketPath = join(socketDir, "qmp.sock");
  }
  const logPath = join(dir, `${tag}.log`);
  let removed = false;
  return {
    dir,
    logPath,
    socketPath,
    async remove({ keep }) {
      if (removed) return;
      removed = true;
      await rm(socketDir ?? socketPath, { recursive: true, force: true });
      if (keep) return;
      await rm(logPath, { force: true });
      if (ownDir) await rmdir(dir).catch(() => rm(dir, { recursive: true, force: true }));
    },
  };
}

/** Whether only we can enter `dir` (no group/other permission bits, owned by our uid). */
function isPrivate(dir: string): boolean {
  const info = statSync(dir);
  return (info.mode & 0o077) === 0 && info.uid === process.getuid?.();
}
