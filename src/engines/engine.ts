/**
 * The interface both engines implement. The runner drives an Engine without knowing which one it is;
 * an engine knows nothing of scenarios or transcripts. docs/engines.md explains the design.
 */
import type { QmpEventMatch } from "../qmp/event-match.js";
import type { QmpEvent, QmpReply } from "../qmp/wire.js";

export type { QmpErrorBody, QmpEvent, QmpReply } from "../qmp/wire.js";
export type { QmpEventMatch } from "../qmp/event-match.js";

/** The engines, by name; the one list every other place (goldens, results, configuration) uses. */
export const ENGINE_KINDS = ["model", "qemu"] as const;

/** Which engine: the TypeScript model of QEMU 7.2, or real QEMU over QMP. */
export type EngineKind = (typeof ENGINE_KINDS)[number];

/**
 * What an engine may be able to do beyond the common ground, each with the noun a skip reason uses
 * ("the model engine has no qemu-io"). A scenario asks for one with `require FEATURE`.
 */
export const ENGINE_FEATURES = {
  io: { noun: "qemu-io", summary: "qemu-io commands on a node, as HMP qemu-io runs them (qemu-system on the qemu engine)" },
  jobs: { noun: "block jobs", summary: "block jobs: block-stream, block-commit, blockdev-mirror, blockdev-backup and the block-job-* verbs" },
} as const satisfies Record<string, { noun: string; summary: string }>;

/** A feature an engine may have (see ENGINE_FEATURES). */
export type EngineFeature = keyof typeof ENGINE_FEATURES;

/** What an engine is and can do; scenarios' requirements are checked against it. */
export interface EngineInfo {
  kind: EngineKind;
  /** QEMU version this engine is (model) or talks to (qemu), e.g. { major: 7, minor: 2, micro: 22 }. */
  version: { major: number; minor: number; micro: number };
  /** Block driver names blockdev-add accepts (QAPI BlockdevDriver values). */
  drivers: string[];
  /** The features this engine has, as started (the qemu engine has `io` only when started for it). */
  features: ReadonlySet<EngineFeature>;
  /** The QMP greeting object exactly as this engine's QEMU sends it ({"QMP": {version, capabilities}}). */
  greeting: Record<string, unknown>;
}

/** An image to create in the engine's scratch directory before or during a scenario. */
export interface ImageSpec {
  /** Path relative to the scratch directory (already checked not to escape it). */
  path: string;
  /** One of the language's IMAGE_FORMATS. */
  format: string;
  /** Virtual size in bytes. */
  size: number;
  /** Backing file as written into the qcow2 header (relative to the image's directory, or absolute). */
  backingFile?: string;
  /** Format of the backing file, written into the header. */
  backingFormat?: string;
  /**
   * qcow2 only: keep guest data in this external raw file (relative to the scratch directory, which
   * is also where QEMU resolves it when it opens the image); it is created with the image.
   */
  dataFile?: string;
  /**
   * qemu-img's `-o` creation options for the format (IMAGE_FORMAT_OPTIONS), in the order written;
   * values as written (file names among them are relative to the scratch directory).
   */
  createOptions?: readonly (readonly [key: string, value: string])[];
  /**
   * Secret objects the creation options name (`key-secret=ID`), in the order the scenario created
   * them: qemu-img gets each as `--object secret,id=ID,…`, the model's writer looks them up.
   */
  secrets?: readonly ImageSecret[];
}

/** A secret object as object-add takes it: its id and its properties (data, format, keyid, iv). */
export interface ImageSecret {
  id: string;
  props: Readonly<Record<string, string>>;
}

export interface EngineStartOptions {
  /** Private scratch directory ($TEST_DIR) for images, sockets and logs; it exists and is empty. */
  workdir: string;
  /** Aborting stops the engine and fails pending calls. */
  signal?: AbortSignal;
  /**
   * The features the scenario needs (default none), so the engine can set itself up for them: the
   * qemu engine starts qemu-system instead of the daemon for `io`. An engine that lacks one still
   * starts; describe() then says so and the scenario is skipped.
   */
  features?: ReadonlySet<EngineFeature>;
  /**
   * The caller will ask successor() after stop(): the engine may then keep its process for the next
   * scenario, where it can prove that process as good as a fresh one (qemu: reuse.ts). Default false.
   */
  reusable?: boolean;
  /**
   * The scenario sees the order of QOM's /objects (qom-list, query-iothreads): a process kept for it
   * must never have had an object added (qemu: reuse.ts). Default false.
   */
  objectOrder?: boolean;
  /** Who the engine works for (a scenario's id), for diagnostics about the engine itself. */
  label?: string;
}

/** How to wait for an event. */
export interface WaitEventOptions {
  /** Give up after this long: wall-clock time on the qemu engine, virtual time on the model. */
  timeoutMs: number;
  /** Only an event whose data contains this (compared recursively; see qmp/event-match.ts). */
  match?: QmpEventMatch;
}

/** How a process ended: a code or a signal name (e.g. "SIGABRT"). */
export interface ExitStatus {
  exitCode: number | undefined;
  signal: string | undefined;
}

/** How an engine ended, as stop() reports it. */
export type EngineStopOutcome =
  /** QEMU exited with status 0 (after quit), or never ran. */
  | { kind: "clean" }
  /** QEMU died by a signal or with a non-zero status, during a command or at quit. */
  | { kind: "crashed"; exit: ExitStatus; logTail: string }
  /** QEMU hung (at quit, or earlier) and was SIGKILLed. */
  | { kind: "killed"; reason: string; logTail: string }
  /** The model only: how QEMU would end here varies from run to run (its allocator decides), so it says nothing. */
  | { kind: "unknown"; reason: string };

export interface Engine {
  /** Which engine this is. */
  readonly kind: EngineKind;
  /** Version, drivers and features; valid after start(). */
  describe(): EngineInfo;
  /** Start (for qemu: spawn the process and negotiate QMP). Called once. */
  start(opts: EngineStartOptions): Promise<void>;
  /** Create an image file in the scratch directory (qemu-img for qemu; written directly by the model). */
  createImage(spec: ImageSpec): Promise<void>;
  /**
   * Send one QMP command. After start() the engine is in command mode (capabilities negotiated), so
   * `qmp_capabilities` gets QEMU's "already complete" error, as on a real monitor.
   * QMP errors come back as `{error}` replies; transport failures throw, and a QEMU that dies (or,
   * on the model, would die) throws an EngineCrashedError.
   */
  qmp(command: string, args?: Record<string, unknown>): Promise<QmpReply>;
  /** Events received since the last call, oldest first; the queue is emptied. */
  takeEvents(): QmpEvent[];
  /**
   * The first queued or arriving event with this name whose data contains `match`, taken off the
   * queue; events that do not match stay queued. Rejects with QmpEventTimeoutError after timeoutMs.
   */
  waitEvent(name: string, opts: WaitEventOptions): Promise<QmpEvent>;
  /**
   * Run a qemu-io command on a node and return its raw output. Needs the `io` feature; without it
   * fails with EngineFeatureMissingError.
   */
  io(node: string, command: string): Promise<string>;
  /** Stop the engine and say how it ended. Always safe, idempotent, and leaves no process behind. */
  stop(): Promise<EngineStopOutcome>;
  /**
   * Put the files the engine holds only in memory (the model's images) in the working directory,
   * as QEMU would have left them there; allowed after stop(). Callers that read the image files
   * after a run (a kept scratch directory, the differential tests) ask for it. Engines whose files
   * are on disk already (qemu) lack it.
   */
  writeFilesOut?(): void;
  /**
   * After stop() of an engine started `reusable`: the engine for the next scenario, on the process
   * this one kept because it proved to be back in its fresh state, in the same working directory
   * (emptied again when the successor starts, which must be with the same features). Undefined when
   * nothing was kept. With `take` false, or when no successor is wanted (the directory is kept for
   * the user), the kept process ends here. Engines that never keep a process lack it.
   */
  successor?(take: boolean): Promise<Engine | undefined>;
}
