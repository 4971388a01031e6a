/**
 * Jobs bench: one stream + commit scenario (a three-image chain; block-stream of the middle image
 * into the top, then an active block-commit of the top into the base, driven to READY and
 * completed) on the model and on qemu-storage-daemon in one run: wall time per engine and the
 * ratio. The QEMU half is skipped when QEMU is not installed.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Engine } from "../src/engines/engine.js";
import { createEngine } from "../src/engines/factory/create.js";
import type { EngineKind } from "../src/engines/engine.js";

const ROUNDS = 10;
const MIB = 1 << 20;

async function scenario(engine: Engine, dir: string): Promise<void> {
  const img = (p: string) => path.join(dir, p);
  await engine.createImage({ path: img("base.qcow2"), format: "qcow2", size: MIB });
  await engine.createImage({ path: img("mid.qcow2"), format: "qcow2", size: MIB, backingFile: img("base.qcow2"), backingFormat: "qcow2" });
  await engine.createImage({ path: img("top.qcow2"), format: "qcow2", size: MIB, backingFile: img("mid.qcow2"), backingFormat: "qcow2" });
  const ok = async (cmd: string, args: Record<string, unknown>) => {
    const r = await engine.qmp(cmd, args);
    if (!("return" in r)) throw new Error(`${cmd}: ${r.error.desc}`);
  };
  const q = (name: string, backing?: Record<string, unknown>): Record<string, unknown> => ({ driver: "qcow2", "node-name": name, file: { driver: "file", filename: img(`${name}.qcow2`) }, ...(backing ? { backing } : {}) });
  await ok("blockdev-add", q("top", q("mid", q("base"))));
  // Stream mid into top (base stays), then commit top into base.
  await ok("block-stream", { "job-id": "s", device: "top", "base-node": "base" });
  await engine.waitEvent("JOB_STATUS_CHANGE", { match: { id: "s", status: "null" }, timeoutMs: 10_000 });
  await ok("block-commit", { "job-id": "c", device: "top" });
  await engine.waitEvent("BLOCK_JOB_READY", { match: { device: "c" }, timeoutMs: 10_000 });
  await ok("job-complete", { id: "c" });
  await engine.waitEvent("JOB_STATUS_CHANGE", { match: { id: "c", status: "null" }, timeoutMs: 10_000 });
}

async function timeEngine(kind: EngineKind): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < ROUNDS; i++) {
    const dir = await mkdtemp(path.join(os.tmpdir(), "bench-jobs-"));
    const engine = createEngine(kind);
    try {
      await engine.start({ workdir: dir });
      await scenario(engine, dir);
    } finally {
      await engine.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }
  return (performance.now() - t0) / ROUNDS;
}

export async function run(): Promise<void> {
  const model = await timeEngine("model");
  console.log(`stream + commit, model: ${model.toFixed(1)} ms per run (${ROUNDS} runs)`);
  let qemu: number;
  try {
    qemu = await timeEngine("qemu");
  } catch (e) {
    console.log(`stream + commit, qemu: skipped (${e instanceof Error ? e.message : String(e)})`);
    return;
  }
  console.log(`stream + commit, qemu:  ${qemu.toFixed(1)} ms per run (${ROUNDS} runs)`);
  console.log(`ratio qemu/model: ${(qemu / model).toFixed(1)}x`);
}
