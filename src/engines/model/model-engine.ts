/**
 * The model engine: QEMU 7.2's block layer embedded in TypeScript, behind the Engine interface.
 * The work happens synchronously in BlockLayer; this class adds the engine lifecycle, images and
 * the asynchronous event API.
 */
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { BlockcheckError } from "../../errors.js";
import { QmpEventTimeoutError } from "../../qmp/errors.js";
import type { Engine, EngineInfo, EngineStartOptions, ImageSpec, QmpEvent, QmpReply } from "../engine.js";
import { BlockLayer } from "./block-layer.js";
import { MODEL_PACKAGE, MODEL_VERSION } from "./commands/version.js";
import { driverNames } from "./drivers/index.js";
import { writeImage } from "./images/write-image.js";

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

export class ModelEngine implements Engine {
  readonly kind = "model" as const;
  private layer: BlockLayer | null = null;
  private workdir = "";
  private readonly events: QmpEvent[] = [];
  private stopped = false;

  constructor(private readonly opts: ModelEngineOptions = {}) {}

  describe(): EngineInfo {
    return {
      kind: "model",
      version: { ...MODEL_VERSION },
      drivers: driverNames(),
      io: false,
      greeting: {
        QMP: { version: { qemu: { micro: MODEL_VERSION.micro, minor: MODEL_VERSION.minor, major: MODEL_VERSION.major }, package: MODEL_PACKAGE }, capabilities: ["oob"] },
      },
    };
  }

  async start(opts: EngineStartOptions): Promise<void> {
    if (this.layer || this.stopped) throw new ModelEngineStateError("model engine: start() may be called only once");
    this.workdir = opts.workdir;
    this.layer = new BlockLayer({ workdir: opts.workdir, seed: this.opts.seed });
    opts.signal?.addEventListener("abort", () => void this.stop(), { once: true });
  }

  async createImage(spec: ImageSpec): Promise<void> {
    this.running();
    // As the qemu engine does before running qemu-img, which makes the external data file first
    // (a raw file of the image's size).
    const create = (rel: string, s: ImageSpec) => {
      const abs = resolve(this.workdir, rel);
      mkdirSync(dirname(abs), { recursive: true });
      writeImage(abs, s);
    };
    if (spec.format === "qcow2" && spec.dataFile !== undefined) create(spec.dataFile, { path: spec.dataFile, format: "raw", size: spec.size });
    create(spec.path, spec);
  }

  async qmp(command: string, args?: Record<string, unknown>): Promise<QmpReply> {
    const layer = this.running();
    const reply = layer.execute(command, args);
    this.events.push(...layer.takeEvents());
    if (layer.quitRequested) this.stopped = true;
    return reply;
  }

  takeEvents(): QmpEvent[] {
    if (this.layer) this.events.push(...this.layer.takeEvents());
    return this.events.splice(0);
  }

  async waitEvent(name: string, timeoutMs: number): Promise<QmpEvent> {
    // The model emits events synchronously, so an event that is not queued now never comes:
    // fail at once rather than sleeping through the timeout.
    this.takeEvents().forEach((e) => this.events.push(e));
    const i = this.events.findIndex((e) => e.event === name);
    if (i >= 0) return this.events.splice(i, 1)[0]!;
    throw new QmpEventTimeoutError(name, timeoutMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
  }

  private running(): BlockLayer {
    if (!this.layer) throw new ModelEngineStateError("model engine: not started");
    if (this.stopped) throw new ModelEngineStateError("model engine: stopped (quit or stop() was called)");
    return this.layer;
  }
}
