/**
 * A minimal qemu-storage-daemon driver for the model's live cross-checks: QMP over stdio, one
 * command at a time, events skipped. Always `close()` it (try/finally) so no process outlives a test.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface, type Interface } from "node:readline";

export class Qsd {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly lines: Interface;
  private readonly pending: string[] = [];
  private waiter: ((line: string) => void) | null = null;

  constructor(cwd: string) {
    const bin = process.env.QSD_PROG ?? "qemu-storage-daemon";
    this.proc = spawn(bin, ["--chardev", "stdio,id=m", "--monitor", "m"], { cwd, stdio: "pipe" });
    this.lines = createInterface({ input: this.proc.stdout });
    this.lines.on("line", (line) => {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w(line);
      } else {
        this.pending.push(line);
      }
    });
  }

  private nextLine(): Promise<string> {
    const line = this.pending.shift();
    if (line !== undefined) return Promise.resolve(line);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("qemu-storage-daemon did not answer within 10s")), 10_000);
      this.waiter = (l) => {
        clearTimeout(timer);
        resolve(l);
      };
    });
  }

  /** Read the greeting and negotiate capabilities; returns the greeting line. */
  async open(): Promise<string> {
    const greeting = await this.nextLine();
    await this.send("qmp_capabilities");
    return greeting;
  }

  /** Send one command; returns the reply line exactly as QEMU wrote it. */
  async send(command: string, args?: Record<string, unknown>): Promise<string> {
    this.proc.stdin.write(JSON.stringify(args ? { execute: command, arguments: args } : { execute: command }) + "\n");
    for (;;) {
      const line = await this.nextLine();
      if (!line.startsWith('{"timestamp"')) return line;
    }
  }

  /** Quit and wait for the process; kills it if it lingers. */
  async close(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.proc.once("exit", () => resolve()));
    this.proc.stdin.end(JSON.stringify({ execute: "quit" }) + "\n");
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
    this.lines.close();
  }
}

/** QEMU's JSON formatting of a reply (", " and ": " separators), for byte comparisons with the model. */
export function qemuJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(qemuJson).join(", ")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)}: ${qemuJson(v)}`)
      .join(", ")}}`;
  }
  return JSON.stringify(value);
}
