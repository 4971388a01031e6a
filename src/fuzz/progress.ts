/**
 * Progress of a fuzz run on a terminal: on a TTY one line rewritten in place (at most ten times a
 * second), elsewhere (a log, CI) a plain line every `intervalMs`. Writes only to the stream it is
 * given; the clock is injected.
 */
import type { Writable } from "node:stream";
import type { FuzzProgress } from "./fuzz-run.js";

export interface ProgressOptions {
  out: Writable;
  isTTY: boolean;
  now: () => number;
  /** Between plain lines when not on a TTY (default 10 s). */
  intervalMs?: number;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** `2m05s` */
export function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(s % 60).padStart(2, "0")}s` : `${(ms / 1000).toFixed(1)}s`;
}

export function progressLine(p: FuzzProgress): string {
  const o = p.occurrences;
  const rate = p.elapsedMs > 0 ? (p.cases * 1000) / p.elapsedMs : 0;
  const parts = [
    `${plural(p.cases, "case")} (${rate.toFixed(1)}/s)`,
    plural(o.divergence, "divergence"),
    plural(o["qemu-crash"], "QEMU crash", "QEMU crashes"),
    plural(o["qemu-hang"] + o["model-hang"], "hang"),
    plural(o["model-exception"], "model exception"),
  ];
  if (o["engine-error"] > 0) parts.push(plural(o["engine-error"], "engine error"));
  const tail = [`${p.distinct} distinct`, ...(p.shrinking > 0 ? [`${p.shrinking} shrinking`] : []), ...(p.known > 0 ? [`${p.known} known`] : [])];
  return `fuzz ${formatDuration(p.elapsedMs)}: ${parts.join(", ")} [${tail.join(", ")}]`;
}

export class ProgressReporter {
  #last = -Infinity;
  #shown = false;
  #latest: FuzzProgress | undefined;

  constructor(private readonly opts: ProgressOptions) {}

  update(p: FuzzProgress): void {
    this.#latest = p;
    const t = this.opts.now();
    const every = this.opts.isTTY ? 100 : (this.opts.intervalMs ?? 10_000);
    if (t - this.#last < every) return;
    this.#last = t;
    this.#write(p);
  }

  /** The last state, shown once more, and the line ended (before a summary). */
  end(): void {
    if (this.#latest) this.#write(this.#latest);
    if (this.opts.isTTY && this.#shown) this.opts.out.write("\n");
  }

  #write(p: FuzzProgress): void {
    this.#shown = true;
    if (this.opts.isTTY) this.opts.out.write(`\r${progressLine(p)}\x1b[K`);
    else this.opts.out.write(progressLine(p) + "\n");
  }
}
