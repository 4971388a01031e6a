/**
 * One QEMU process and its monitor connection, race-free: we listen on the QMP socket first and QEMU
 * connects to us (`-chardev socket,server=off`), so there is no polling for a socket to appear. The
 * launch waits for whichever comes first — QEMU connecting, QEMU exiting, the start timeout, the
 * caller's abort — and a launch that fails leaves no process and no socket behind.
 */
import { closeSync, openSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import type { ResultPromise } from "execa";
import { ConfigError } from "../../errors.js";
import type { ExitStatus } from "../engine.js";
import { dieWithParent, setprivCouldNotExec, type Launcher } from "./die-with-parent.js";
import { QemuStartError } from "./errors.js";
import { logTail } from "./log-file.js";
import { reaper, type Reapable } from "./reaper.js";

export type { ExitStatus } from "../engine.js";

export interface LaunchOptions {
  binary: string;
  /** Arguments, the monitor chardev included (it must connect to `socketPath`). */
  args: string[];
  /** The environment variable naming this binary, for "not found" errors. */
  binaryVariable: string;
  socketPath: string;
  logPath: string;
  /**
   * The process's working directory. QEMU opens some names from image headers (an external data
   * file) relative to it, so it must be the directory the model resolves against too.
   */
  cwd: string;
  /** Bound on spawn → monitor connected. */
  timeoutMs: number;
  signal?: AbortSignal;
}

/** How long to wait for a SIGKILLed process to be reaped before giving up on its status. */
const REAP_TIMEOUT_MS = 5_000;

export class QemuProcess implements Reapable {
  readonly commandLine: string;
  /** Settles (never rejects) when the process has exited and been reaped. */
  readonly exited: Promise<ExitStatus>;
  #status: ExitStatus | undefined;
  readonly #subprocess: ResultPromise;

  private constructor(subprocess: ResultPromise, commandLine: string) {
    this.#subprocess = subprocess;
    this.commandLine = commandLine;
    this.exited = new Promise<ExitStatus>((resolve) => {
      // The child's own 'exit' comes a little before execa's result; a spawn failure has only the result.
      subprocess.once("exit", (code, signal) => resolve({ exitCode: code ?? undefined, signal: signal ?? undefined }));
      subprocess.then(
        (result) => resolve({ exitCode: result.exitCode, signal: result.signal }),
        () => resolve({ exitCode: undefined, signal: undefined }),
      );
    });
    void this.exited.then((status) => {
      this.#status = status;
      reaper.release(this);
    });
    reaper.track(this);
  }

  /** The process id (undefined if it never spawned). */
  get pid(): number | undefined {
    return this.#subprocess.pid;
  }

  /** How it ended, once it has; undefined while it runs. */
  get exitStatus(): ExitStatus | undefined {
    return this.#status;
  }

  /** SIGKILL now. Safe on an exited process. */
  killNow(): void {
    if (this.#status) return;
    try {
      this.#subprocess.kill("SIGKILL");
    } catch {
      // Already gone: nothing to kill.
    }
  }

  /** The exit status if the process ends within `ms`, else undefined. */
  async waitExit(ms: number): Promise<ExitStatus | undefined> {
    if (this.#status) return this.#status;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL and wait (bounded) until reaped. */
  async kill(): Promise<ExitStatus | undefined> {
    this.killNow();
    return this.waitExit(REAP_TIMEOUT_MS);
  }

  /** Spawn QEMU and wait for it to connect to the monitor socket. */
  static async launch(opts: LaunchOptions): Promise<{ process: QemuProcess; socket: Socket }> {
    const commandLine = [opts.binary, ...opts.args].join(" ");
    const server = await listen(opts.socketPath).catch((cause: Error) => {
      throw new QemuStartError(`cannot listen on ${opts.socketPath}: ${cause.message}`, commandLine, undefined, "", { cause });
    });
    try {
      const launcher = dieWithParent(opts.binary, opts.args);
      const process = QemuProcess.#spawn(opts, launcher, commandLine, await loadExeca());
      const outcome = await firstOf(server, process, opts);
      if ("socket" in outcome) return { process, socket: outcome.socket };

      const status = "exit" in outcome ? outcome.exit : await process.kill();
      const tail = await logTail(opts.logPath);
      const notRun = (exit: ExitStatus) =>
        (exit.exitCode === undefined && exit.signal === undefined) || setprivCouldNotExec(launcher, exit.exitCode);
      if ("exit" in outcome && notRun(outcome.exit)) {
        throw new ConfigError(`cannot run '${opts.binary}' (set ${opts.binaryVariable} or fix PATH)`);
      }
      const why =
        "exit" in outcome
          ? "QEMU exited before connecting to its monitor"
          : "timeout" in outcome
            ? `QEMU did not connect to its monitor within ${opts.timeoutMs} ms`
            : "start aborted";
      throw new QemuStartError(why, commandLine, status, tail, "exit" in outcome ? {} : { killedBecause: `${why}; it was killed` });
    } finally {
      server.close();
      // Nothing else may connect; the path is not needed any more.
      rmSync(opts.socketPath, { force: true });
    }
  }

  static #spawn(opts: LaunchOptions, launcher: Launcher, commandLine: string, execa: Execa): QemuProcess {
    // stdout and stderr share one append-mode descriptor so their order is kept on disk.
    // (execa's types list only descriptors 3-9, but it hands any descriptor straight to spawn.)
    const logFd = openSync(opts.logPath, "a", 0o600) as 3;
    try {
      // Through setpriv when there is one: QEMU then dies with us even if we are SIGKILLed.
      const subprocess = execa(launcher.file, launcher.args, {
        cwd: opts.cwd,
        stdin: "ignore",
        stdout: logFd,
        stderr: logFd,
        buffer: false,
        reject: false,
        cleanup: true,
        killSignal: "SIGKILL",
      });
      return new QemuProcess(subprocess, commandLine);
    } finally {
      // The child holds its own copies once spawned (execa spawns synchronously).
      closeSync(logFd);
    }
  }
}

type Execa = typeof import("execa").execa;
let execaModule: Promise<Execa> | undefined;

/**
 * execa, imported on the first launch: it is a large module tree, and a run on the model alone, or
 * `blockcheck --help`, must not pay for loading it.
 */
export function loadExeca(): Promise<Execa> {
  execaModule ??= import("execa").then((m) => m.execa);
  return execaModule;
}

function listen(path: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(path, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}

type Outcome = { socket: Socket } | { exit: ExitStatus } | { timeout: true } | { aborted: true };

function firstOf(server: Server, process: QemuProcess, opts: LaunchOptions): Promise<Outcome> {
  return new Promise<Outcome>((resolve) => {
    const timer = setTimeout(() => finish({ timeout: true }), opts.timeoutMs);
    const onAbort = () => finish({ aborted: true });
    const onConnection = (socket: Socket) => finish({ socket });
    const finish = (outcome: Outcome) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      server.off("connection", onConnection);
      resolve(outcome);
    };
    server.once("connection", onConnection);
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    void process.exited.then((exit) => finish({ exit }));
    if (opts.signal?.aborted) onAbort();
  });
}
