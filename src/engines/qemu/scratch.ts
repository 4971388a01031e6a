/**
 * Where the engine keeps its QMP socket and QEMU's log: in the scenario's scratch directory when that
 * is already private (0700, ours), else in a fresh 0700 directory inside it. File names carry a random
 * tag so several engines can share one scratch directory.
 *
 * A UNIX socket path must fit in sun_path (108 bytes on Linux), and a deep TMPDIR makes the scratch
 * path longer than that. The socket still goes in the scratch directory, never elsewhere: QEMU, which
 * runs there, names it by its short relative path, and we listen on it through
 * `/proc/self/fd/N/NAME`, N being a descriptor of its directory (bind() follows the magic link).
 * Where there is no /proc, a path too long is a clear error.
 */
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, openSync, statSync } from "node:fs";
import { mkdtemp, readdir, rmdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { ConfigError } from "../../errors.js";
import { removeTree, unlinkIfExists } from "../../remove-tree.js";

/** Longest socket path we hand to bind() or QEMU; sun_path is 108 bytes including the terminating NUL. */
export const MAX_SOCKET_PATH = 100;

export interface ScratchArea {
  /** The private directory holding the log and the socket (the workdir itself, or a 0700 directory inside it). */
  dir: string;
  /** Where QEMU's stdout and stderr go (one file, so their order is kept). */
  logPath: string;
  /** The monitor socket's real path, in `dir`. */
  socketPath: string;
  /** Where we listen for QEMU's monitor connection: `socketPath`, or a short alias of it. */
  listenPath: string;
  /** How QEMU, started in the workdir, names the socket: `socketPath`, or its path relative to the workdir. */
  qemuSocketPath: string;
  /** Remove what this created (the log too, unless keep is set). Idempotent. */
  remove(opts: { keep: boolean }): Promise<void>;
}

/** The scratch directory is too deep for any UNIX socket path we could give QEMU. */
export class SocketPathTooLongError extends ConfigError {
  constructor(readonly socketPath: string) {
    super(
      `the QMP socket path ${socketPath} is ${Buffer.byteLength(socketPath)} bytes, more than a UNIX socket path may be ` +
        `(${MAX_SOCKET_PATH}), and /proc is not there to shorten it: set TMPDIR to a shorter directory`,
    );
  }
}

/** Create the engine's scratch area under `workdir`. */
export async function createScratchArea(workdir: string): Promise<ScratchArea> {
  const ownDir = !isPrivate(workdir);
  // mkdtemp creates the directory with mode 0700.
  const dir = ownDir ? await mkdtemp(join(workdir, ".qemu-")) : workdir;
  const tag = `.qemu-${randomBytes(4).toString("hex")}`;
  const socketPath = join(dir, `${tag}.sock`);
  let listenPath = socketPath;
  let qemuSocketPath = socketPath;
  let dirFd: number | undefined;
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    qemuSocketPath = relative(workdir, socketPath);
    dirFd = openSync(dir, "r");
    listenPath = `/proc/self/fd/${dirFd}/${tag}.sock`;
    if (!existsSync(`/proc/self/fd/${dirFd}`) || Buffer.byteLength(qemuSocketPath) > MAX_SOCKET_PATH) {
      closeSync(dirFd);
      // Leave nothing behind: the directory made above goes too.
      if (ownDir) await rmdir(dir);
      throw new SocketPathTooLongError(socketPath);
    }
  }
  const logPath = join(dir, `${tag}.log`);
  let removed = false;
  return {
    dir,
    logPath,
    socketPath,
    listenPath,
    qemuSocketPath,
    async remove({ keep }) {
      if (removed) return;
      removed = true;
      unlinkIfExists(socketPath);
      if (dirFd !== undefined) closeSync(dirFd);
      if (keep) return;
      unlinkIfExists(logPath);
      if (ownDir) await removeTree(dir);
    },
  };
}

/** Whether only we can enter `dir` (no group/other permission bits, owned by our uid). */
function isPrivate(dir: string): boolean {
  const info = statSync(dir);
  return (info.mode & 0o077) === 0 && info.uid === process.getuid?.();
}

/**
 * Put `workdir` back as it was when a process started in it: every entry but those in `keep` (what
 * was there then, the engine's own socket and log among them) is removed.
 */
export async function restoreWorkdir(workdir: string, keep: ReadonlySet<string>): Promise<void> {
  const names = await readdir(workdir);
  await Promise.all(names.filter((n) => !keep.has(n)).map((n) => removeTree(join(workdir, n))));
}
