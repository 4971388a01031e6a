/**
 * The model engine: QEMU 7.2's block layer embedded in TypeScript, behind the Engine interface.
 * Commands run synchronously in BlockLayer; this class adds the engine lifecycle, images, the event
 * queue, and the main loop whose virtual clock asynchronous work and event waits advance on.
 *
 * Where QEMU 7.2 would crash, the block layer throws QemuWouldCrashError; the engine reports it as
 * the qemu engine reports a real crash (EngineCrashedError), answers nothing more, and stop() says
 * which signal QEMU would have died of.
 */
import { dirname, resolve } from "node:path";
import { BlockcheckError } from "../../errors.js";
import { eventMatches } from "../../qmp/event-match.js";
import { QmpEventTimeoutError } from "../../qmp/errors.js";
import type {
  Engine,
  EngineInfo,
  EngineStartOptions,
  EngineStopOutcome,
  ExitStatus,
  ImageSpec,
  QmpEvent,
  QmpReply,
  WaitEventOptions,
} from "../engine.js";
import { describeExit, EngineCrashedError, EngineFailedError, HUNG_AND_KILLED, WOULD_HANG_CODE } from "../errors.js";
import { BlockLayer } from "./block-layer.js";
import { MODEL_PACKAGE, MODEL_VERSION } from "./commands/version.js";
import { driverNames } from "./drivers/index.js";
import { writeImage } from "./images/write-image.js";
import { MainLoop, msToNs } from "./main-loop.js";
import { QemuAbort, QemuWouldCrashError } from "./qemu-would-crash.js";
import { QemuHang } from "./qemu-would-hang.js";
import { MUTEX_DESTROY_BUSY } from "./aio-context/iothread-objects.js";
import { noteModelWork, startModelWatchdog } from "../../lifetime/watchdog.js";

/** The model engine used in the wrong state (before start, after stop or quit). */
export class ModelEngineStateError extends BlockcheckError {
  constructor(message: string) {
    super("E_MODEL_STATE", message);
  }
}

/** Options of the model engine; all optional. */
export interface ModelEngineOptions {
  /** Seed for auto node names' random digits. */
  seed?: number;
}

type State = "new" | "running" | "crashed" | "stopped";

/** Where the model stopped because QEMU would have crashed, or hung and been killed. */
interface Crash {
  command: string;
  exit: ExitStatus;
  /** What QEMU would print (e.g. its assertion message): the model's "log tail". */
  detail: string;
  /** QEMU would not have died but waited forever, and the qemu engine kills such a QEMU (SIGKILL). */
  hung?: true;
  /** QEMU died, or hung, in its main loop after it had sent the command's reply: the next command finds it so. */
  afterReply?: true;
}

export class ModelEngine implements Engine {
  readonly kind = "model" as const;
  /** The main loop and its virtual clock, for the block layer's asynchronous tasks (and tests). */
  readonly loop = new MainLoop();
  #state: State = "new";
  #layer: BlockLayer | undefined;
  #workdir = "";
  /** Who the engine works for (EngineStartOptions.label), for the watchdog. */
  #label: string | undefined;
  #events: QmpEvent[] = [];
  /** How many queued events came before the last reply (see takeEventsAroundReply). */
  #replyMark: number | undefined;
  #crash: Crash | undefined;
  /** Wall-clock time at start, in µs: event timestamps are this plus the virtual clock. */
  #epochUs = 0;

  constructor(private readonly opts: ModelEngineOptions = {}) {}

  describe(): EngineInfo {
    return {
      kind: "model",
      version: { ...MODEL_VERSION },
      drivers: driverNames(),
      // Block jobs run on the virtual clock (jobs/); guest I/O is not modelled.
      features: new Set(["io", "jobs"]),
      greeting: {
        QMP: { version: { qemu: { micro: MODEL_VERSION.micro, minor: MODEL_VERSION.minor, major: MODEL_VERSION.major }, package: MODEL_PACKAGE }, capabilities: ["oob"] },
      },
    };
  }

  async start(opts: EngineStartOptions): Promise<void> {
    if (this.#state !== "new") throw new ModelEngineStateError("model engine: start() may be called only once");
    this.#workdir = opts.workdir;
    this.#label = opts.label;
    // The one wall-clock read: timestamps only, never progress.
    this.#epochUs = Date.now() * 1000;
    // As the qemu engine starts qemu-system instead of the daemon for `io`.
    const system = opts.features?.has("io") ?? false;
    this.#layer = new BlockLayer({ workdir: opts.workdir, seed: this.opts.seed, loop: this.loop, stamp: () => this.#timestamp(), system });
    this.#state = "running";
    opts.signal?.addEventListener("abort", () => void this.stop(), { once: true });
    startModelWatchdog();
  }

  async createImage(spec: ImageSpec): Promise<void> {
    // qemu-img needs no running QEMU, so images can still be made after a crash.
    if (this.#state !== "running" && this.#state !== "crashed") this.#live("createImage");
    // As the qemu engine does before running qemu-img, which makes the external data file first
    // (a raw file of the image's size).
    // The image lives in the block layer's host files, in memory (writeFilesOut puts it on disk).
    const files = this.#layer!.hostFiles;
    const create = (rel: string, s: ImageSpec) => {
      const abs = resolve(this.#workdir, rel);
      files.mkdir(dirname(abs));
      writeImage(abs, s, files);
    };
    if (spec.format === "qcow2" && spec.dataFile !== undefined) create(spec.dataFile, { path: spec.dataFile, format: "raw", size: spec.size });
    create(spec.path, spec);
  }

  async qmp(command: string, args?: Record<string, unknown>): Promise<QmpReply> {
    const layer = this.#live(command);
    const reply = this.#guard(command, () => {
      // What was due without time passing (a job's exit, its zero-delay sleep) ran before QEMU read this command.
      this.loop.runDue();
      this.#collect();
      this.#replyMark = undefined;
      const r = layer.execute(command, args);
      // A job whose coroutine ended inside the command exits before the reply (MainLoop.runMainContextBottomHalves).
      this.loop.runMainContextBottomHalves();
      this.#collect();
      // QEMU sends the reply here; what follows comes after it on the wire.
      this.#replyMark = this.#events.length;
      return r;
    });
    // QEMU goes back to its main loop before it reads the next command: what the command
    // scheduled to run "soon", and the timers already due, have run by then. Time does not pass.
    // The reply is out already, so a crash there (a job's coroutine going on after its first read)
    // leaves this command answered, and the next one finds QEMU dead.
    try {
      this.#guard(command, () => this.loop.runDue());
    } catch (e) {
      const hung = e instanceof EngineFailedError && e.code === WOULD_HANG_CODE;
      if (!(e instanceof EngineCrashedError || hung) || !this.#crash) throw e;
      this.#crash.afterReply = true;
    }
    this.#collect();
    if (layer.quitRequested) this.#state = "stopped";
    return reply;
  }

  takeEvents(): QmpEvent[] {
    this.#collect();
    this.#replyMark = undefined;
    return this.#events.splice(0);
  }

  /**
   * The queued events split where the last command's reply went out: those it raised itself come
   * before its reply on a QMP connection, those of the bottom halves it left (a job finishing)
   * after it. Without a reply since the last take, everything counts as after.
   */
  takeEventsAroundReply(): { beforeReply: QmpEvent[]; afterReply: QmpEvent[] } {
    this.#collect();
    const mark = this.#replyMark ?? 0;
    this.#replyMark = undefined;
    const all = this.#events.splice(0);
    return { beforeReply: all.slice(0, mark), afterReply: all.slice(mark) };
  }

  async waitEvent(name: string, opts: WaitEventOptions): Promise<QmpEvent> {
    const what = `waitEvent(${name})`;
    this.#live(what);
    const deadlineNs = this.loop.nowNs + msToNs(opts.timeoutMs);
    return this.#guard(what, () => {
      // Timer by timer, so the wait stops at the first matching event and leaves the rest of the
      // work for later; nothing more is due before the deadline means the event never comes in time.
      do {
        this.#collect();
        const i = this.#events.findIndex((e) => eventMatches(e, name, opts.match));
        if (i >= 0) {
          if (this.#replyMark !== undefined && i < this.#replyMark) this.#replyMark--;
          return this.#events.splice(i, 1)[0]!;
        }
      } while (this.loop.step(deadlineNs));
      this.loop.advanceTo(deadlineNs);
      throw new QmpEventTimeoutError(name, opts.timeoutMs);
    });
  }

  /**
   * qemu-io through HMP, as the qemu engine runs it: the block layer answers with what QEMU would
   * print (stdout and stderr, then the monitor's reply). Like a QMP command, it runs what was due
   * before it, and what it scheduled runs before the next command; `sleep` lets virtual time pass.
   */
  async io(node: string, command: string): Promise<string> {
    const what = `qemu-io ${node} "${command}"`;
    const layer = this.#live(what);
    const out = this.#guard(what, () => {
      this.loop.runDue();
      this.#collect();
      this.#replyMark = undefined;
      const text = layer.qemuIo(node, command);
      this.#collect();
      this.#replyMark = this.#events.length;
      this.loop.runDue();
      return text;
    });
    this.#collect();
    return out;
  }

  /** Queue an event as QEMU's monitor would send it, stamped with the virtual clock. */
  emit(event: string, data?: Record<string, unknown>): void {
    this.#events.push({ event, ...(data !== undefined ? { data } : {}), timestamp: this.#timestamp() });
  }

  /**
   * Let the main loop run as an idle QEMU would between two commands: everything due runs, timer
   * by timer, until nothing is left or what is left lies more than `boundMs` of virtual time
   * ahead (a READY mirror job wakes every 100 ms forever). Returns whether the loop went idle.
   * `blockcheck qmp --engine model` calls this after each command.
   */
  settle(boundMs: number): boolean {
    this.#live("settle");
    const deadlineNs = this.loop.nowNs + msToNs(boundMs);
    return this.#guard("settle", () => {
      while (this.loop.step(deadlineNs)) this.#collect();
      this.#collect();
      return this.loop.idle;
    });
  }

  /**
   * Put the image files the model holds in memory on disk, in the working directory, as QEMU would
   * have left them: for a scratch directory that is kept, or a caller that reads the files after
   * (or during) the run. From then on the model works on the files on disk. Allowed after stop().
   */
  writeFilesOut(): void {
    this.#layer?.hostFiles.writeOut();
  }

  async stop(): Promise<EngineStopOutcome> {
    // A QEMU that is still running closes its nodes as it quits; one that crashed loses its caches,
    // as does one that hangs in the drain before the close.
    const running = (this.#state === "running" || this.#layer?.quitRequested === true) && !this.#crash;
    let end = running ? this.#layer?.quitOutcome() : undefined;
    if (this.#state === "running" && !this.#crash && !(end && "hang" in end)) {
      // A close that crashes ends the process before its iothreads are destroyed (a leaked lock's abort).
      const closed = this.#layer?.closeAll();
      if (closed && (!end || ("abort" in end && end.abort === MUTEX_DESTROY_BUSY))) end = closed;
    }
    this.#state = "stopped";
    if (end && "hang" in end) return { kind: "killed", reason: end.hang, logTail: "" };
    if (end && "segfault" in end) return { kind: "crashed", exit: { exitCode: undefined, signal: "SIGSEGV" }, logTail: end.segfault };
    if (end && "unknown" in end) return { kind: "unknown", reason: end.unknown };
    if (end) return { kind: "crashed", exit: { exitCode: undefined, signal: "SIGABRT" }, logTail: end.abort };
    if (!this.#crash) return { kind: "clean" };
    if (this.#crash.hung) {
      const when = this.#crash.afterReply ? `its main loop hung after it answered '${this.#crash.command}'` : `it hung during '${this.#crash.command}'`;
      return { kind: "killed", reason: when, logTail: "" };
    }
    return { kind: "crashed", exit: { ...this.#crash.exit }, logTail: this.#crash.detail };
  }

  /** The block layer, if the engine can take a command now; else the error a caller gets. */
  #live(command: string): BlockLayer {
    if (this.#state === "crashed" && this.#crash) {
      const c = this.#crash;
      if (c.hung && c.afterReply) {
        throw new EngineFailedError(
          WOULD_HANG_CODE,
          command,
          HUNG_AND_KILLED,
          `QEMU would not answer '${command}': its main loop hangs after it answered '${c.command}'\n--- why ---\n${c.detail}`,
        );
      }
      if (c.hung) throw new EngineFailedError(WOULD_HANG_CODE, command, HUNG_AND_KILLED, `QEMU was killed: it would have hung during '${c.command}'; '${command}' cannot run`);
      if (c.afterReply) {
        throw new EngineCrashedError(
          command,
          c.exit,
          `QEMU died during '${command}' (${describeExit(c.exit)}), in its main loop after it answered '${c.command}': the model stops where QEMU 7.2 crashes\n--- QEMU 7.2 prints ---\n${c.detail}`,
        );
      }
      throw new EngineCrashedError(command, c.exit, `QEMU is dead: it would have died during '${c.command}' (${describeExit(c.exit)}); '${command}' cannot run`);
    }
    if (this.#state === "new" || !this.#layer) throw new ModelEngineStateError("model engine: not started");
    if (this.#state !== "running") throw new ModelEngineStateError("model engine: stopped (quit or stop() was called)");
    return this.#layer;
  }

  /**
   * Run `work`; where QEMU would crash in it, this engine crashes. Timers and bottom halves run
   * outside any command handler, so a QemuAbort from them arrives here unnamed.
   */
  #guard<T>(command: string, work: () => T): T {
    noteModelWork(this.#label, command);
    try {
      return work();
    } catch (e) {
      if (e instanceof QemuHang) {
        this.#crash = { command, exit: { exitCode: undefined, signal: "SIGKILL" }, detail: e.detail, hung: true };
        this.#state = "crashed";
        throw new EngineFailedError(WOULD_HANG_CODE, command, HUNG_AND_KILLED, `QEMU would not answer '${command}': the model stops where QEMU 7.2 hangs\n--- why ---\n${e.detail}`, { cause: e });
      }
      if (!(e instanceof QemuWouldCrashError || e instanceof QemuAbort)) throw e;
      // blkverify ends QEMU with exit(1); everything else is a signal.
      const exit: ExitStatus = e.exitCode !== undefined ? { exitCode: e.exitCode, signal: undefined } : { exitCode: undefined, signal: e.signal };
      this.#crash = { command, exit, detail: e.detail };
      this.#state = "crashed";
      throw new EngineCrashedError(
        command,
        exit,
        `QEMU died during '${command}' (${describeExit(exit)}): the model stops where QEMU 7.2 crashes\n--- QEMU 7.2 prints ---\n${e.detail}`,
        { cause: e },
      );
    }
  }

  /** Move the block layer's events (stamped when emitted) to the queue. */
  #collect(): void {
    if (this.#layer) for (const e of this.#layer.takeEvents()) this.#events.push(e);
  }

  /** Now on the virtual clock, as an event timestamp. */
  #timestamp(): { seconds: number; microseconds: number } {
    const us = this.#epochUs + Math.floor(this.loop.nowNs / 1000);
    return { seconds: Math.floor(us / 1_000_000), microseconds: us % 1_000_000 };
  }
}
