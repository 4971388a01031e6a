/**
 * The qemu engine: real QEMU 7.2 driven over QMP, a process per scenario (or one a previous
 * scenario left as fresh, below).
 *
 * start() listens on a UNIX socket in the scenario's scratch dir (in a 0700 subdirectory unless the
 * scratch dir is already private) and starts qemu-storage-daemon — or qemu-system with `-M none` when
 * the scenario needs HMP qemu-io — with its monitor connecting to that socket. QEMU's stdout and
 * stderr go to a log file beside it. Version and drivers are asked once per binary (query-version,
 * query-qmp-schema) and cached.
 * Transport failures become typed errors naming the command, how QEMU ended and the log tail; a QMP
 * `{"error"}` is an ordinary reply. stop() is `quit`, a bounded wait, then SIGKILL, and says which
 * of these ended QEMU (machine.py's shutdown, told as a value); it is idempotent, and the reaper
 * kills whatever is still alive if the Node process is interrupted.
 *
 * Started `reusable`, stop() may instead bring QEMU back to the state of its start and keep it, and
 * successor() hands it to the next scenario's engine, in the same scratch directory (reuse.ts says
 * when that is allowed and how it is proven).
 */
import { readdirSync } from "node:fs";
import type {
  Engine,
  EngineFeature,
  EngineInfo,
  EngineStartOptions,
  EngineStopOutcome,
  ImageSpec,
  QmpEvent,
  QmpReply,
  WaitEventOptions,
} from "../engine.js";
import { QmpClient } from "../../qmp/client.js";
import { QmpEventTimeoutError } from "../../qmp/errors.js";
import { socketTransport } from "../../qmp/transport.js";
import { binaryVariable, resolveBinaries, type QemuBinaries } from "./binaries.js";
import { blockdevDrivers, defaultCapabilityCache, parseVersion, type CapabilityCache } from "./capabilities.js";
import { QemuEngineStateError, QemuIoUnavailableError, QemuStartError } from "./errors.js";
import { explainFault } from "./explain-fault.js";
import { HmpQemuIo } from "./hmp-qemu-io.js";
import { createImage, PristineImages } from "./images.js";
import { logLength, logTail } from "./log-file.js";
import { endOutcome } from "./outcome.js";
import { monitorArgs } from "./monitor-args.js";
import { QemuProcess } from "./qemu-process.js";
import { objectsRootCreated, processState, resetToFresh, reuseBlocker, type Call, type ProcessState } from "./reuse.js";
import { createScratchArea, restoreWorkdir, type ScratchArea } from "./scratch.js";

export interface QemuEngineOptions {
  /** Binaries to run; each wins over its environment variable (QSD_PROG, QEMU_PROG, …) and PATH. */
  binaries?: Partial<QemuBinaries>;
  /** Environment to read the *_PROG variables from (default: process.env). */
  env?: Record<string, string | undefined>;
  /** Bound on each QMP call and each qemu-img run (default 30 s). A call that outlives it means QEMU hung. */
  callTimeoutMs?: number;
  /** Bound on spawn → monitor connected → negotiated (default 10 s). */
  startTimeoutMs?: number;
  /** How long stop() waits for QEMU to exit after `quit` before SIGKILL (default 5 s). */
  quitTimeoutMs?: number;
  /** Keep QEMU's log (and the engine's own directory, if it made one) after stop() (default false). */
  keepScratch?: boolean;
  /** Where to memoise version and drivers per binary (default: one cache shared in this process). */
  capabilityCache?: CapabilityCache;
}

type State = "new" | "starting" | "running" | "stopping" | "stopped";
type Binary = "qsd" | "qemu";

/** What a reusable engine knows of its process beyond the process itself. */
interface Reuse {
  which: Binary;
  /** QMP's view of the process right after it started (reuse.ts). */
  fresh: ProcessState;
  /** The size of QEMU's log then: a process that wrote to it since is not reused. */
  logSize: number;
  /** The working directory's entries then, which it is emptied back to. */
  workdirEntries: ReadonlySet<string>;
}

export class QemuEngine implements Engine {
  readonly kind = "qemu" as const;
  readonly #binaries: QemuBinaries;
  readonly #callTimeoutMs: number;
  readonly #startTimeoutMs: number;
  readonly #quitTimeoutMs: number;
  readonly #keepScratch: boolean;
  readonly #capabilityCache: CapabilityCache;
  readonly #options: QemuEngineOptions;

  #state: State = "new";
  #workdir: string | undefined;
  #scratch: ScratchArea | undefined;
  #process: QemuProcess | undefined;
  #client: QmpClient | undefined;
  #info: EngineInfo | undefined;
  #io: HmpQemuIo | undefined;
  #started: Promise<void> | undefined;
  #stopped: Promise<EngineStopOutcome> | undefined;
  /** How QEMU ended, once torn down (also after a failed start). */
  #outcome: EngineStopOutcome | undefined;
  /** Set when we killed QEMU ourselves (hang, broken monitor): later calls say so instead of "crashed". */
  #killedBecause: string | undefined;
  #unlistenAbort: (() => void) | undefined;
  /** Aborted at stop(): kills any qemu-img still running. */
  readonly #imageJobs = new AbortController();
  /** Images written in-process since the last command (images.ts: a backing file qemu-img would open). */
  readonly #pristine = new PristineImages();
  /** Set when started `reusable`. */
  #reuse: Reuse | undefined;
  /** Why this process cannot run another scenario, once a command ruled that out. */
  #reuseBlocker: string | undefined;
  /** The scenario sees the order of QOM's /objects: an object-add rules the process out (reuse.ts). */
  #objectOrder = false;
  #nbdServerStarted = false;
  /** stop() kept the process for successor(). */
  #kept = false;
  /** A successor's start waits for its directory to be emptied. */
  #restored: Promise<void> | undefined;
  /** The engine was stopped by its abort signal (a timeout): nothing is kept then. */
  #aborted = false;

  constructor(opts: QemuEngineOptions = {}) {
    this.#binaries = resolveBinaries(opts.binaries, opts.env);
    this.#callTimeoutMs = opts.callTimeoutMs ?? 30_000;
    this.#startTimeoutMs = opts.startTimeoutMs ?? 10_000;
    this.#quitTimeoutMs = opts.quitTimeoutMs ?? 5_000;
    this.#keepScratch = opts.keepScratch ?? false;
    this.#capabilityCache = opts.capabilityCache ?? defaultCapabilityCache;
    this.#options = { ...opts, binaries: this.#binaries };
  }

  /** The QEMU process id while one exists (diagnostics and tests). */
  get pid(): number | undefined {
    return this.#process?.pid;
  }

  /** The private directory holding QEMU's log once started (the workdir itself when that is 0700). */
  get scratchDir(): string | undefined {
    return this.#scratch?.dir;
  }

  /** QEMU's log (stdout and stderr) once started; kept after stop() only with keepScratch. */
  get logPath(): string | undefined {
    return this.#scratch?.logPath;
  }

  describe(): EngineInfo {
    if (!this.#info) throw new QemuEngineStateError("describe() before the qemu engine has started");
    return this.#info;
  }

  start(opts: EngineStartOptions): Promise<void> {
    if (this.#state !== "new") return Promise.reject(new QemuEngineStateError(`start() on a ${this.#state} qemu engine`));
    this.#state = "starting";
    this.#started = this.#start(opts);
    return this.#started;
  }

  async #start(opts: EngineStartOptions): Promise<void> {
    this.#objectOrder = opts.objectOrder === true;
    const needsIo = opts.features?.has("io") ?? false;
    const which = needsIo ? "qemu" : "qsd";
    if (this.#process) {
      try {
        if (await this.#resume(opts, which)) return;
      } catch (error) {
        this.#outcome = await this.#teardown();
        this.#state = "stopped";
        throw error;
      }
    }
    const binary = this.#binaries[which];
    try {
      this.#workdir = opts.workdir;
      this.#scratch = await createScratchArea(opts.workdir);
      const launched = await QemuProcess.launch({
        binary,
        args: monitorArgs(which, this.#scratch.qemuSocketPath),
        binaryVariable: binaryVariable(which),
        socketPath: this.#scratch.listenPath,
        logPath: this.#scratch.logPath,
        cwd: opts.workdir,
        timeoutMs: this.#startTimeoutMs,
        signal: opts.signal,
      });
      this.#process = launched.process;
      this.#client = new QmpClient();
      const greeting = await this.#client
        .connect(socketTransport(launched.socket), { timeoutMs: this.#startTimeoutMs, signal: opts.signal })
        .catch(async (cause: unknown) => {
          const process = launched.process;
          const exited = await process.waitExit(100);
          const exit = exited ?? (await process.kill());
          const killedBecause = exited ? undefined : "QMP negotiation failed and it was killed";
          // Keep the reason (a bad greeting, a refused qmp_capabilities, a timeout): it is the diagnosis.
          const why = cause instanceof Error ? cause.message : String(cause);
          throw new QemuStartError(`QMP negotiation failed: ${why}`, process.commandLine, exit, await this.#tail(), { cause, killedBecause });
        });
      const { version, drivers } = await this.#capabilityCache.get(binary, async () => ({
        version: parseVersion(await this.#call("query-version")),
        drivers: blockdevDrivers(await this.#call("query-qmp-schema")),
      }));
      // Both binaries run block jobs; only qemu-system has HMP for qemu-io.
      const features = new Set<EngineFeature>(needsIo ? ["io", "jobs"] : ["jobs"]);
      this.#info = { kind: "qemu", version, drivers, features, greeting };
      if (needsIo) this.#io = new HmpQemuIo((command, args) => this.qmp(command, args), this.#scratch.logPath);
      const call = this.#internalCall(this.#client, this.#callTimeoutMs);
      // Every process, kept or not, so that no scenario can tell which it runs on (reuse.ts). Sent
      // ahead of the state queries, and awaited with them: if QEMU dies, all of them fail, and the
      // start reports the first.
      const [, fresh] = await Promise.all([objectsRootCreated(call), opts.reusable ? processState(call) : undefined]);
      if (fresh !== undefined) {
        this.#reuse = { which, fresh, logSize: logLength(this.#scratch.logPath), workdirEntries: new Set(readdirSync(opts.workdir)) };
      }
      this.#listenAbort(opts.signal);
      this.#state = "running";
    } catch (error) {
      const torn = await this.#teardown();
      // The process of a failed launch is gone before the engine ever held it; its error knows how it ended.
      this.#outcome = error instanceof QemuStartError && error.exit ? endOutcome(error.exit, error.logTail, error.killedBecause) : torn;
      this.#state = "stopped";
      throw error;
    }
  }

  /**
   * Take over the process a predecessor kept (successor()): true when it runs on; false when it died
   * while idle, and a fresh one is to be started instead.
   */
  async #resume(opts: EngineStartOptions, which: Binary): Promise<boolean> {
    const reuse = this.#reuse!;
    if (opts.workdir !== this.#workdir || which !== reuse.which) {
      throw new QemuEngineStateError(`a kept ${reuse.which} process in ${this.#workdir} cannot start a scenario needing ${which} in ${opts.workdir}`);
    }
    await this.#restored;
    if (this.#process!.exitStatus || this.#client!.state !== "running") {
      await this.#teardown();
      this.#process = this.#client = this.#scratch = this.#info = this.#reuse = undefined;
      return false;
    }
    // Nothing arrives while a process is idle; whatever did belongs to no scenario.
    this.#client!.takeEvents();
    if (which === "qemu") this.#io = new HmpQemuIo((command, args) => this.qmp(command, args), this.#scratch!.logPath);
    if (!opts.reusable) this.#reuse = undefined;
    this.#listenAbort(opts.signal);
    this.#state = "running";
    return true;
  }

  /**
   * Keep the process for another scenario if reuse.ts allows it: every node deleted, the NBD
   * server stopped, and QMP showing what it showed at start.
   */
  async #keep(): Promise<boolean> {
    const reuse = this.#reuse;
    const client = this.#client;
    if (!reuse || !client || !this.#scratch || this.#aborted || this.#killedBecause || this.#reuseBlocker !== undefined) return false;
    if (client.state !== "running" || this.#process?.exitStatus) return false;
    if (logLength(this.#scratch.logPath) !== reuse.logSize) return false;
    const why = await resetToFresh(this.#internalCall(client, this.#quitTimeoutMs), {
      fresh: reuse.fresh,
      nbdServer: this.#nbdServerStarted,
    }).catch((e: unknown) => (e instanceof Error ? e.message : String(e)));
    if (why !== undefined || this.#process?.exitStatus || logLength(this.#scratch.logPath) !== reuse.logSize) return false;
    client.takeEvents();
    this.#unlistenAbort?.();
    return true;
  }

  async successor(take: boolean): Promise<QemuEngine | undefined> {
    if (!this.#kept) return undefined;
    this.#kept = false;
    if (!take) {
      await this.#teardown();
      return undefined;
    }
    const next = new QemuEngine(this.#options);
    next.#workdir = this.#workdir;
    next.#process = this.#process;
    next.#client = this.#client;
    next.#scratch = this.#scratch;
    next.#info = this.#info;
    next.#reuse = this.#reuse;
    next.#restored = restoreWorkdir(this.#workdir!, this.#reuse!.workdirEntries);
    next.#restored.catch(() => undefined);
    this.#process = this.#client = this.#scratch = undefined;
    this.#io = undefined;
    return next;
  }

  /** A QMP call of the engine's own (starting, resetting): not the scenario's, so not counted against reuse. */
  #internalCall(client: QmpClient, timeoutMs: number): Call {
    return (command, args) => client.execute(command, args, { timeoutMs });
  }

  async createImage(spec: ImageSpec): Promise<void> {
    if (this.#state !== "running" || !this.#workdir) {
      throw new QemuEngineStateError(`createImage() on a ${this.#state} qemu engine`);
    }
    await createImage(spec, {
      binary: this.#binaries.img,
      workdir: this.#workdir,
      timeoutMs: this.#callTimeoutMs,
      signal: this.#imageJobs.signal,
      pristine: this.#pristine,
    });
  }

  qmp(command: string, args?: Record<string, unknown>): Promise<QmpReply> {
    return this.#call(command, args);
  }

  takeEvents(): QmpEvent[] {
    return this.#client?.takeEvents() ?? [];
  }

  async waitEvent(name: string, opts: WaitEventOptions): Promise<QmpEvent> {
    const client = this.#usableClient(`waitEvent(${name})`);
    try {
      return await client.waitEvent(name, opts.timeoutMs, opts.match);
    } catch (error) {
      if (error instanceof QmpEventTimeoutError) throw error;
      throw await this.#fault(`waitEvent(${name})`, error);
    }
  }

  async io(node: string, command: string): Promise<string> {
    if (!this.#io) throw this.#info ? new QemuIoUnavailableError() : new QemuEngineStateError("io() before start()");
    const output = await this.#io.run(node, command);
    // qemu-io prints to QEMU's stdout, the log: what it printed is its output, not a sign of hidden state.
    if (this.#reuse && this.#scratch) this.#reuse.logSize = logLength(this.#scratch.logPath);
    return output;
  }

  stop(): Promise<EngineStopOutcome> {
    // A qemu-img still running (the scenario timed out) goes with the engine, not at its own timeout.
    this.#imageJobs.abort();
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<EngineStopOutcome> {
    if (this.#state === "starting") await this.#started?.catch(() => undefined);
    // A successor never started still holds its predecessor's process: that one ends here.
    if (this.#state === "stopped" || (this.#state === "new" && !this.#process)) {
      this.#state = "stopped";
      return this.#outcome ?? { kind: "clean" };
    }
    const ran = this.#state === "running";
    this.#state = "stopping";
    if (ran && (await this.#keep())) {
      this.#kept = true;
      this.#state = "stopped";
      this.#outcome = { kind: "clean" };
      return this.#outcome;
    }
    try {
      this.#outcome = await this.#teardown();
      return this.#outcome;
    } finally {
      this.#state = "stopped";
    }
  }

  /**
   * quit → bounded wait → SIGKILL; close the monitor; read how QEMU ended (and, unless it ended
   * cleanly, its log tail); remove the scratch area. Safe in any state.
   */
  async #teardown(): Promise<EngineStopOutcome> {
    this.#unlistenAbort?.();
    const process = this.#process;
    const client = this.#client;
    try {
      let hung = this.#killedBecause;
      if (process && !process.exitStatus && !hung) {
        const deadline = Date.now() + this.#quitTimeoutMs;
        // Without a running monitor the quit was the scenario's own: QEMU is on its way out already.
        if (client?.state === "running") await client.execute("quit", undefined, { timeoutMs: this.#quitTimeoutMs }).catch(() => undefined);
        await process.waitExit(Math.max(0, deadline - Date.now()));
        if (!process.exitStatus) hung = `it did not exit within ${this.#quitTimeoutMs} ms of 'quit' and was killed`;
      }
      client?.close();
      if (process && !process.exitStatus) await process.kill();
      return await this.#outcomeOf(process, hung);
    } finally {
      await this.#removeScratch();
    }
  }

  async #outcomeOf(process: QemuProcess | undefined, hung: string | undefined): Promise<EngineStopOutcome> {
    if (!process) return { kind: "clean" };
    const outcome = endOutcome(process.exitStatus, "", hung);
    return outcome.kind === "crashed" || outcome.kind === "killed" ? { ...outcome, logTail: await this.#tail() } : outcome;
  }

  async #removeScratch(): Promise<void> {
    await this.#scratch?.remove({ keep: this.#keepScratch });
  }

  async #call(command: string, args?: Record<string, unknown>): Promise<QmpReply> {
    const client = this.#usableClient(command);
    this.#pristine.clear();
    if (this.#reuse) this.#countForReuse(command, args);
    try {
      return await client.execute(command, args, { timeoutMs: this.#callTimeoutMs });
    } catch (error) {
      throw await this.#fault(command, error);
    }
  }

  #countForReuse(command: string, args: Record<string, unknown> | undefined): void {
    this.#reuseBlocker ??= reuseBlocker(command, args, this.#objectOrder);
    if (command === "nbd-server-start") this.#nbdServerStarted = true;
  }

  #usableClient(command: string): QmpClient {
    const usable = this.#state === "running" || (this.#state === "starting" && this.#client?.state === "running");
    if (!usable || !this.#client) throw new QemuEngineStateError(`'${command}' on a ${this.#state} qemu engine`);
    if (this.#killedBecause) throw new QemuEngineStateError(`'${command}': QEMU is gone (${this.#killedBecause})`);
    return this.#client;
  }

  /** Turn a transport failure during `command` into the engine's typed error, killing a hung QEMU. */
  async #fault(command: string, error: unknown): Promise<unknown> {
    if (this.#state === "stopping" || this.#state === "stopped") {
      return new QemuEngineStateError(`'${command}' was interrupted: the qemu engine stopped`, { cause: error });
    }
    if (this.#killedBecause) return new QemuEngineStateError(`'${command}': QEMU is gone (${this.#killedBecause})`);
    if (!this.#process || !this.#scratch) return error;
    const verdict = await explainFault(command, error, this.#process, this.#scratch.logPath);
    this.#killedBecause ??= verdict.killedBecause;
    return verdict.error;
  }

  #tail(): Promise<string> {
    return this.#scratch ? logTail(this.#scratch.logPath) : Promise.resolve("");
  }

  #listenAbort(signal: AbortSignal | undefined): void {
    if (!signal) return;
    const onAbort = () => {
      this.#aborted = true;
      void this.stop();
    };
    signal.addEventListener("abort", onAbort, { once: true });
    this.#unlistenAbort = () => signal.removeEventListener("abort", onAbort);
    if (signal.aborted) onAbort();
  }
}
