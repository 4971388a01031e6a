/**
 * The qemu engine's start→stop overhead for an empty scenario, beside the floor measured in the same
 * run: a bare qemu-storage-daemon started with a minimal hand-written QMP client (listen, spawn, greeting,
 * qmp_capabilities, quit, reaped). Target: engine median ≤ 1.2 × floor median.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { resolveBinaries } from "../src/engines/qemu/binaries.js";
import { QemuEngine } from "../src/engines/qemu/qemu-engine.js";

const RUNS = 30;
const WARMUP = 3;
const TARGET = 1.2;

export async function run(): Promise<void> {
  const qsd = resolveBinaries().qsd;
  const root = mkdtempSync(join(tmpdir(), "bc-bench-qemu-"));
  try {
    const engine: number[] = [];
    const floor: number[] = [];
    for (let i = 0; i < WARMUP + RUNS; i++) {
      // Interleaved, so drift in machine load hits both series alike.
      const e = await timeEngine(join(root, `e${i}`));
      const f = await timeFloor(qsd, join(root, `f${i}.sock`));
      if (i >= WARMUP) {
        engine.push(e);
        floor.push(f);
      }
    }
    const ratio = median(engine) / median(floor);
    const bestRatio = Math.min(...engine) / Math.min(...floor);
    const rows = [
      ["", "median ms", "min ms", "max ms"],
      ["bare qemu-storage-daemon (floor)", ...stats(floor)],
      ["QemuEngine start → stop", ...stats(engine)],
    ];
    for (const row of rows) console.log(`${row[0]!.padEnd(34)}${row.slice(1).map((c) => c.padStart(11)).join("")}`);
    console.log(`\nratio engine/floor, medians: ${ratio.toFixed(2)} (target ≤ ${TARGET}); best runs: ${bestRatio.toFixed(2)}`);
    // Process start-up dominates both series, so a busy machine moves the medians a lot; say how busy.
    console.log(`${RUNS} runs after ${WARMUP} warm-up, interleaved; load average ${loadavg()[0]!.toFixed(2)}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function timeEngine(workdir: string): Promise<number> {
  mkdirSync(workdir, { mode: 0o700 });
  const t0 = performance.now();
  const engine = new QemuEngine();
  try {
    await engine.start({ workdir });
  } finally {
    await engine.stop();
  }
  return performance.now() - t0;
}

/** The least a harness can do: listen, spawn, read the greeting, negotiate, quit, reap. */
async function timeFloor(qsd: string, socketPath: string): Promise<number> {
  const t0 = performance.now();
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const child = spawn(qsd, ["--chardev", `socket,id=m,path=${socketPath},server=off`, "--monitor", "chardev=m"], {
    stdio: "ignore",
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const socket = await new Promise<Socket>((resolve) => server.once("connection", resolve));
  server.close();
  socket.on("error", () => {}); // QEMU may reset the connection as it exits
  const line = lineReader(socket);
  await line(); // greeting
  socket.write('{"execute":"qmp_capabilities"}\n');
  await line();
  socket.write('{"execute":"quit"}\n');
  await line();
  await exited;
  socket.destroy();
  return performance.now() - t0;
}

/** A function resolving with each next line the socket delivers (enough for one reply at a time). */
function lineReader(socket: Socket): () => Promise<string> {
  let buffer = "";
  const lines: string[] = [];
  let waiting: ((line: string) => void) | undefined;
  socket.on("data", (chunk) => {
    buffer += String(chunk);
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      lines.push(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
    }
    if (waiting && lines.length > 0) {
      const resolve = waiting;
      waiting = undefined;
      resolve(lines.shift()!);
    }
  });
  return () =>
    lines.length > 0 ? Promise.resolve(lines.shift()!) : new Promise<string>((resolve) => (waiting = resolve));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function stats(values: number[]): string[] {
  return [median(values), Math.min(...values), Math.max(...values)].map((v) => v.toFixed(2));
}
