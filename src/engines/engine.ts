/**
 * The interface both engines implement. The runner drives an Engine without knowing which one it is;
 * an engine knows nothing of scenarios or transcripts.
 */

/** A QMP error object, exactly as QEMU puts it on the wire. */
export interface QmpErrorBody {
  class: string;
  desc: string;
}

/** A reply to one command: QMP errors are ordinary replies, never exceptions. */
export type QmpReply = { return: unknown } | { error: QmpErrorBody };

/** An asynchronous QMP event (e.g. BLOCK_EXPORT_DELETED). */
export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

/** What an engine is and can do; scenarios' requirements are checked against it. */
export interface EngineInfo {
  kind: "model" | "qemu";
  /** QEMU version this engine is (model) or talks to (qemu), e.g. { major: 7, minor: 2, micro: 22 }. */
  version: { major: number; minor: number; micro: number };
  /** Block driver names blockdev-add accepts (QAPI BlockdevDriver values). */
  drivers: string[];
  /** Whether `io` (qemu-io through HMP) works on this engine. */
  io: boolean;
  /** The QMP greeting object exactly as this engine's QEMU sends it ({"QMP": {version, capabilities}}). */
  greeting: Record<string, unknown>;
}

/** An image to create in the engine's scratch directory before or during a scenario. */
export interface ImageSpec {
  /** Path relative to the scratch directory (already checked not to escape it). */
  path: string;
  format: "qcow2" | "raw";
  /** Virtual size in bytes. */
  size: number;
  /** Backing file as written into the qcow2 header (relative to the image's directory, or absolute). */
  backingFile?: string;
  /** Format of the backing file, written into the header. */
  backingFormat?: "qcow2" | "raw";
  /**
   * qcow2 only: keep guest data in this external raw file (relative to the scratch directory, which
   * is also where QEMU resolves it when it opens the image); it is created with the image.
   */
  dataFile?: string;
}

export interface EngineStartOptions {
  /** Private scratch directory ($TEST_DIR) for images, sockets and logs; it exists and is empty. */
  workdir: string;
  /** Aborting stops the engine and fails pending calls. */
  signal?: AbortSignal;
  /** Whether the scenario uses `io` (the qemu engine then starts qemu-system instead of the daemon). */
  needsIo?: boolean;
}

export interface Engine {
  /** Which engine this is. */
  readonly kind: "model" | "qemu";
  /** Version, drivers and io support; valid after start(). */
  describe(): EngineInfo;
  /** Start (for qemu: spawn the process and negotiate QMP). Called once. */
  start(opts: EngineStartOptions): Promise<void>;
  /** Create an image file in the scratch directory (qemu-img for qemu; written directly by the model). */
  createImage(spec: ImageSpec): Promise<void>;
  /**
   * Send one QMP command. After start() the engine is in command mode (capabilities negotiated), so
   * `qmp_capabilities` gets QEMU's "already complete" error, as on a real monitor.
   * QMP errors come back as `{error}` replies; transport failures throw.
   */
  qmp(command: string, args?: Record<string, unknown>): Promise<QmpReply>;
  /** Events received since the last call, oldest first; the queue is emptied. */
  takeEvents(): QmpEvent[];
  /** Wait for an event with this name (taking it off the queue); rejects after timeoutMs. */
  waitEvent(name: string, timeoutMs: number): Promise<QmpEvent>;
  /** Run a qemu-io command on a node and return its raw output; only where describe().io is true. */
  io?(node: string, command: string): Promise<string>;
  /** Stop the engine. Always safe, idempotent, and leaves no process behind. */
  stop(): Promise<void>;
}
