/** A started model engine in a scratch directory, with a chain of empty qcow2 images made as qemu-img makes them. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EngineFeature, QmpEvent } from "../../../src/engines/engine.js";
import { ModelEngine } from "../../../src/engines/model/model-engine.js";

export interface Rig {
  dir: string;
  engine: ModelEngine;
  /** Run a command; its reply's `return`, or throw with its error. */
  ok(command: string, args?: Record<string, unknown>): Promise<unknown>;
  /** Run a command that must fail; its error description. */
  err(command: string, args?: Record<string, unknown>): Promise<string>;
  /** Queued events as [event, status or undefined] pairs, taken. */
  events(): Array<[string, unknown]>;
  close(): Promise<void>;
}

export async function rig(features?: ReadonlySet<EngineFeature>): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), "blockcheck-jobs-"));
  const engine = new ModelEngine();
  await engine.start({ workdir: dir, ...(features ? { features } : {}) });
  const ok = async (command: string, args?: Record<string, unknown>) => {
    const r = await engine.qmp(command, args);
    if ("error" in r) throw new Error(`${command}: ${r.error.desc}`);
    return r.return;
  };
  const err = async (command: string, args?: Record<string, unknown>) => {
    const r = await engine.qmp(command, args);
    if (!("error" in r)) throw new Error(`${command} succeeded`);
    return r.error.desc;
  };
  const events = () => engine.takeEvents().map((e: QmpEvent): [string, unknown] => [e.event, e.data?.["status"]]);
  return {
    dir,
    engine,
    ok,
    err,
    events,
    close: async () => {
      await engine.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** base ← mid ← act (qcow2, `size` bytes), each opened with blockdev-add and a named file node. */
export async function chain(r: Rig, size = 1 << 20): Promise<void> {
  await r.engine.createImage({ path: "base.qcow2", format: "qcow2", size });
  await r.engine.createImage({ path: "mid.qcow2", format: "qcow2", size, backingFile: "base.qcow2", backingFormat: "qcow2" });
  await r.engine.createImage({ path: "act.qcow2", format: "qcow2", size, backingFile: "mid.qcow2", backingFormat: "qcow2" });
  const add = (name: string, extra: Record<string, unknown> = {}) =>
    r.ok("blockdev-add", { driver: "qcow2", "node-name": name, file: { driver: "file", filename: `${name}.qcow2`, "node-name": `${name}-f` }, ...extra });
  await add("base");
  await add("mid", { backing: "base" });
  await add("act", { backing: "mid" });
}
