/**
 * The console reporter.
 *
 * On a terminal: one progress line redrawn in place — `[12/40] 1 failed · reopen/detach (model) · ETA 3s`.
 * Elsewhere: one plain line per finished run — `PASS reopen/detach (model) 12ms`.
 * At the end: failures first (location, phase, the statement, expected/actual, diffs, kept scratch
 * directories), then the slowest runs with the change against the previous run, engine-specific
 * goldens, orphan goldens, and a count line.
 */
import type { Reporter } from "../runner/reporter.js";
import type { RunInfo, RunSummary, ScenarioResult } from "../runner/results.js";
import { fitWidth, formatDelta, formatDuration, indent } from "./format.js";
import type { ReporterContext } from "./reporter.js";

const SLOWEST = 5;
/**
 * The progress line is drawn again, and plain lines are written out, at most this often: a run of
 * small model scenarios ends hundreds a second, and two terminal writes per run (or one write per
 * line to a log) cost more than the runs' own output. What waits is written by a timer at the latest.
 */
const WRITE_INTERVAL_MS = 100;

/** Build a console reporter writing to `ctx.out`. */
export function consoleReporter(ctx: ReporterContext): Reporter {
  const paint = (code: number, s: string) => (ctx.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  let info: RunInfo = { total: 0, engines: [], jobs: 1 };
  let started = 0;
  let done = 0;
  let failed = 0;
  const running: string[] = [];
  let lineShown = false;
  let lastWrite = -Infinity;
  let lines = "";
  let timer: NodeJS.Timeout | undefined;

  const later = () => {
    timer ??= setTimeout(() => {
      timer = undefined;
      if (ctx.isTTY) drawLine(true);
      else flush();
    }, WRITE_INTERVAL_MS).unref();
  };
  const stopTimer = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
  };
  const flush = () => {
    if (lines) ctx.out.write(lines);
    lines = "";
  };
  // A run that ends in an error never reaches onRunEnd: the lines of the runs before it still go out.
  const atExit = () => flush();
  const clearLine = () => {
    if (lineShown) ctx.out.write("\r\x1b[K");
    lineShown = false;
  };
  const drawLine = (now = false) => {
    if (!ctx.isTTY) return;
    const t = ctx.now();
    if (!now && lineShown && t - lastWrite < WRITE_INTERVAL_MS) return later();
    stopTimer();
    lastWrite = t;
    const elapsed = t - started;
    const eta = done > 0 && done < info.total ? ` · ETA ${formatDuration((elapsed / done) * (info.total - done))}` : "";
    const current = running.length > 0 ? ` · ${running[running.length - 1]}` : "";
    const fails = failed > 0 ? ` · ${failed} failed` : "";
    clearLine();
    ctx.out.write(fitWidth(`[${done}/${info.total}]${fails}${current}${eta}`, ctx.columns));
    lineShown = true;
  };
  const writeLine = (line: string) => {
    lines += line;
    const t = ctx.now();
    if (t - lastWrite < WRITE_INTERVAL_MS) return later();
    stopTimer();
    lastWrite = t;
    flush();
  };

  return {
    onRunStart(i) {
      info = i;
      if (!ctx.isTTY) process.once("exit", atExit);
      started = ctx.now();
      drawLine(true);
    },
    onScenarioStart(id) {
      running.push(id);
      drawLine();
    },
    onScenarioEnd(r) {
      const i = running.indexOf(r.id);
      if (i >= 0) running.splice(i, 1);
      done++;
      if (r.status === "fail") failed++;
      if (ctx.isTTY) {
        if (r.status === "fail") {
          clearLine();
          ctx.out.write(`${paint(31, "FAIL")} ${r.id}\n`);
        }
        drawLine(r.status === "fail");
      } else {
        writeLine(statusLine(r, paint) + "\n");
      }
    },
    onRunEnd(summary) {
      stopTimer();
      process.off("exit", atExit);
      flush();
      clearLine();
      ctx.out.write(renderSummary(summary, ctx, paint, info.threads));
    },
  };
}

function statusLine(r: ScenarioResult, paint: (c: number, s: string) => string): string {
  if (r.status === "skip") return `${paint(33, "SKIP")} ${r.id} (${r.skipReason ?? "skipped"})`;
  const word = r.status === "pass" ? paint(32, "PASS") : paint(31, "FAIL");
  return `${word} ${r.id} ${formatDuration(r.durationMs)}${r.cached ? " (cached)" : ""}`;
}

function renderSummary(s: RunSummary, ctx: ReporterContext, paint: (c: number, s: string) => string, threads?: number): string {
  const out: string[] = [];
  const failures = s.results.filter((r) => r.status === "fail");
  if (failures.length > 0) {
    out.push("", paint(1, "Failures:"));
    for (const r of failures) out.push("", renderFailure(r, paint));
  }
  // A cached result ran in an earlier run: its time is not this run's.
  const ran = s.results.filter((r) => r.status !== "skip" && !r.cached);
  const slowest = [...ran].sort((a, b) => b.durationMs - a.durationMs || cmp(a.id, b.id)).slice(0, SLOWEST);
  if (slowest.length > 0) {
    out.push("", paint(1, "Slowest:"));
    const w = Math.max(...slowest.map((r) => formatDuration(r.durationMs).length));
    for (const r of slowest) {
      const prev = ctx.previousTimes.get(r.id);
      const delta = prev === undefined ? "" : `  (${formatDelta(r.durationMs - prev)} vs last run)`;
      out.push(`  ${formatDuration(r.durationMs).padStart(w)}  ${r.id}${delta}`);
    }
  }
  if (s.engineSpecific.length > 0) {
    out.push("", paint(1, `Engine-specific goldens (${s.engineSpecific.length}):`));
    for (const e of s.engineSpecific) out.push(`  ${e.file} — ${e.reason}`);
  }
  if (s.orphans.length > 0) {
    const what = s.pruned ? "Removed goldens without a scenario" : "Goldens without a scenario (remove with --prune)";
    out.push("", paint(1, `${what} (${s.orphans.length}):`), ...s.orphans.map((o) => `  ${o}`));
  }
  const count = (st: string) => s.results.filter((r) => r.status === st).length;
  const cached = s.results.filter((r) => r.cached && r.status === "pass").length;
  const parts = [`${count("pass")} passed${cached > 0 ? ` (${cached} cached)` : ""}`, `${count("fail")} failed`, `${count("skip")} skipped`];
  if (s.notRun > 0) parts.push(`${s.notRun} not run (--bail)`);
  const on = threads !== undefined ? ` on ${threads} model threads` : "";
  out.push("", `${parts.join(", ")} (${s.results.length + s.notRun} runs) in ${formatDuration(s.durationMs)}${on}`);
  return out.join("\n") + "\n";
}

/** One failed run in full. */
export function renderFailure(r: ScenarioResult, paint: (c: number, s: string) => string = (_c, s) => s): string {
  const lines = [`${paint(31, "FAIL")} ${r.id}${r.title ? ` — ${r.title}` : ""}`];
  for (const f of r.failures) {
    const where = f.location ? `${f.location}: ` : "";
    const phase = f.phase ? ` (in phase "${f.phase}")` : "";
    lines.push(`  ${where}${f.message}${phase}`);
    if (f.source) lines.push(indent(f.source, "    | "));
    if (f.details) lines.push(indent(f.details, "    "));
    if (f.diff) lines.push(indent(f.diff, "    "));
  }
  if (r.scratchDir) lines.push(`  scratch directory kept: ${r.scratchDir}`);
  return lines.join("\n");
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
