/**
 * Model bench: an N-deep qcow2 backing chain built with blockdev-add, its top reopened read-only,
 * then N/10 chain nodes reopened in ONE blockdev-reopen transaction — for N = 1,000, 10,000 and
 * 100,000 on the model, each N in its own child process so peak RSS is that N's alone, and the same
 * sequence on real qemu-storage-daemon at N = 100, 300 and 1,000, with the model/QEMU time ratio at
 * 1,000. Expect the QEMU rows to take minutes: QEMU itself slows down steeply with chain depth.
 *
 * The chain is valid on real QEMU: the chain nodes all open one image read-only (shared locks only),
 * each with its own explicitly named file node; only the top, on its own image, starts read-write.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { EngineKind, ImageSpec, QmpReply } from "../src/engines/engine.js";
import { BlockLayer } from "../src/engines/model/block-layer.js";
import { writeImage } from "../src/engines/model/images/write-image.js";
import { QemuEngine } from "../src/engines/qemu/qemu-engine.js";

/** Just what the bench drives: the model's synchronous core, or a real QEMU engine. */
interface Target {
  image(spec: ImageSpec): Promise<void> | void;
  call(command: string, args: Record<string, unknown>): Promise<QmpReply> | QmpReply;
}

const SIZES = [1_000, 10_000, 100_000];
/** Real QEMU's chain building grows about cubically with depth (0.8 s at 150, 6.4 s at 300, minutes at 1,000). */
const QEMU_SIZES = [100, 300, 1_000];
const RATIO_AT = 1_000;

/** What one run measured; times in milliseconds, RSS in MiB. */
interface Measurement {
  engine: EngineKind;
  n: number;
  addMs: number;
  reopenTopMs: number;
  reopenBatchMs: number;
  peakRssMiB: number;
}

function check(what: string, reply: QmpReply): void {
  if ("error" in reply) throw new Error(`bench: ${what} failed: ${reply.error.desc}`);
}

function chainNode(i: number, dir: string): Record<string, unknown> {
  return {
    driver: "qcow2",
    "node-name": `c${i}`,
    "read-only": true,
    file: { driver: "file", filename: path.join(dir, "base.qcow2"), "node-name": `c${i}-f` },
    backing: i === 0 ? null : `c${i - 1}`,
  };
}

/** Build the chain, reopen the top read-only, reopen every tenth chain node in one transaction. */
async function measure(target: Target, kind: EngineKind, n: number, dir: string): Promise<Measurement> {
  // The model's calls are synchronous; awaiting only real promises keeps microtask hops out of its figures.
  const call = async (command: string, args: Record<string, unknown>): Promise<QmpReply> => {
    const r = target.call(command, args);
    return r instanceof Promise ? r : Promise.resolve(r);
  };
  await target.image({ path: "base.qcow2", format: "qcow2", size: 1 << 20 });
  await target.image({ path: "top.qcow2", format: "qcow2", size: 1 << 20 });
  let t = performance.now();
  for (let i = 0; i < n; i++) check(`blockdev-add c${i}`, await call("blockdev-add", chainNode(i, dir)));
  const top = { driver: "qcow2", "node-name": "top", file: { driver: "file", filename: path.join(dir, "top.qcow2"), "node-name": "top-f" }, backing: `c${n - 1}` };
  check("blockdev-add top", await call("blockdev-add", top));
  const addMs = performance.now() - t;

  t = performance.now();
  check("reopen top", await call("blockdev-reopen", { options: [{ ...top, "read-only": true, file: "top-f" }] }));
  const reopenTopMs = performance.now() - t;

  const batch = [];
  for (let i = 0; i < n; i += 10) batch.push({ ...chainNode(i, dir), file: `c${i}-f` });
  t = performance.now();
  check("reopen batch", await call("blockdev-reopen", { options: batch }));
  const reopenBatchMs = performance.now() - t;
  return { engine: kind, n, addMs, reopenTopMs, reopenBatchMs, peakRssMiB: process.resourceUsage().maxRSS / 1024 };
}

/** One measurement on a fresh model or QEMU in a fresh scratch directory. */
export async function measureOnce(kind: EngineKind, n: number): Promise<Measurement> {
  const dir = mkdtempSync(path.join(tmpdir(), "bcbench-"));
  try {
    if (kind === "model") {
      const layer = new BlockLayer({ workdir: dir });
      return await measure({ image: (spec) => writeImage(path.join(dir, spec.path), spec), call: (c, a) => layer.execute(c, a) }, kind, n, dir);
    }
    const engine = new QemuEngine({ callTimeoutMs: 600_000 });
    try {
      await engine.start({ workdir: dir });
      return await measure({ image: (spec) => engine.createImage(spec), call: (c, a) => engine.qmp(c, a) }, kind, n, dir);
    } finally {
      await engine.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Run measureOnce in a child process (clean peak RSS); it prints one JSON line. */
function inChild(kind: EngineKind, n: number): Measurement {
  const self = fileURLToPath(import.meta.url);
  const code = `import(${JSON.stringify(self)}).then(async (m) => console.log(JSON.stringify(await m.measureOnce(${JSON.stringify(kind)}, ${n}))))`;
  const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { encoding: "utf8", maxBuffer: 1 << 24, stdio: ["ignore", "pipe", "inherit"] });
  return JSON.parse(out.trim().split("\n").pop()!) as Measurement;
}

function total(m: Measurement): number {
  return m.addMs + m.reopenTopMs + m.reopenBatchMs;
}

function row(m: Measurement): string {
  const cells = [m.engine, m.n.toLocaleString("en"), m.addMs.toFixed(1), m.reopenTopMs.toFixed(2), m.reopenBatchMs.toFixed(1), total(m).toFixed(1), ((total(m) * 1000) / m.n).toFixed(2), m.engine === "model" ? m.peakRssMiB.toFixed(0) : "-"];
  return `| ${cells.join(" | ")} |`;
}

export async function run(): Promise<void> {
  console.log("qcow2 backing chain: N blockdev-add, reopen top read-only, reopen N/10 nodes in one transaction\n");
  console.log("| engine | N | add ms | reopen top ms | reopen N/10 ms | total ms | µs per node | peak RSS MiB |");
  console.log("|---|---|---|---|---|---|---|---|");
  const model: Measurement[] = [];
  for (const n of SIZES) {
    model.push(inChild("model", n));
    console.log(row(model[model.length - 1]!));
  }
  const qemu: Measurement[] = [];
  for (const n of QEMU_SIZES) {
    qemu.push(inChild("qemu", n));
    console.log(row(qemu[qemu.length - 1]!));
  }
  const m = model.find((x) => x.n === RATIO_AT)!;
  const q = qemu.find((x) => x.n === RATIO_AT)!;
  console.log(`\nmodel / QEMU time at N = ${RATIO_AT.toLocaleString("en")}: ${(total(m) / total(q)).toPrecision(3)}`);
  for (let i = 1; i < model.length; i++) {
    const [a, b] = [model[i - 1]!, model[i]!];
    console.log(`model growth ${a.n.toLocaleString("en")} → ${b.n.toLocaleString("en")}: nodes ×${b.n / a.n}, time ×${(total(b) / total(a)).toFixed(1)}, peak RSS ×${(b.peakRssMiB / a.peakRssMiB).toFixed(1)}`);
  }
}
