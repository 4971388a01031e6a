import type { Engine, EngineKind } from "../engine.js";
import { ModelEngine } from "../model/model-engine.js";
import { QemuEngine, type QemuEngineOptions } from "../qemu/qemu-engine.js";

export interface CreateEngineOptions {
  /** Binaries, timeouts and log settings for the qemu engine. */
  qemu?: QemuEngineOptions;
}

/** A fresh, unstarted engine of the given kind. */
export function createEngine(kind: EngineKind, opts: CreateEngineOptions = {}): Engine {
  return kind === "model" ? new ModelEngine() : new QemuEngine(opts.qemu);
}
