/** `blockcheck run [PATH…]`: run scenarios, compare with goldens, report. */
import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { once } from "node:events";
import { finished } from "node:stream/promises";
import { loadConfig } from "../../config/config.js";
import { createEngine } from "../../engines/factory/create.js";
import { parentDeathWarning } from "../../engines/qemu/die-with-parent.js";
import { UsageError } from "../../errors.js";
import { FileSystemError, onFile } from "../../file-errors.js";
import { sweepStaleTemps } from "../../golden/store.js";
import { createReporter, reporterNames } from "../../report/registry.js";
import type { ReporterContext } from "../../report/reporter.js";
import type { Reporter } from "../../runner/reporter.js";
import { runFailed, type RunSummary } from "../../runner/results.js";
import { readTimes, writeTimes } from "../../report/times.js";
import { isCi, wantsColor } from "../../runner/env.js";
import { planRun, runScenarios } from "../../runner/run-all.js";
import { displayName } from "../../runner/selection.js";
import type { CliIo, Command } from "../command.js";
import { runFlags } from "./run-options.js";

/** Where previous run times are kept, relative to the working directory. */
export const TIMES_FILE = ".blockcheck/times.json";

export const runCommand: Command = {
  name: "run",
  summary: "run scenarios and compare their transcripts with golden files",
  usage: "[PATH…]",
  description: [
    "Runs every scenario under the scenario root (tests/scenarios), or those PATH names: files,",
    "directories, or globs over scenario names (reopen/*). Each scenario, and each parameter value,",
    "runs on a fresh engine in a private scratch directory, removed on success and kept on failure",
    "(with the images, .qmp.log and QEMU's log). Interrupted runs remove theirs; what a killed run left",
    "is swept by the next one.",
    "A transcript that differs from its golden file prints a diff and writes NAME.out.bad beside it.",
    "",
    "With CI set in the environment nothing is written: no .out.bad, no --update, no times file, and a",
    "missing golden is a failure. Exit status: 0 all passed, 1 any failure, 2 usage or configuration error.",
  ].join("\n"),
  options: {
    engine: { type: "string", short: "e", value: "ENGINE", description: "model (default), qemu, or both (and diff them)" },
    jobs: { type: "string", short: "j", value: "N", description: "runs in parallel (default: number of cores)" },
    timeout: { type: "string", value: "SECONDS", description: "per-scenario timeout (default 60)" },
    bail: { type: "boolean", description: "stop starting scenarios after the first failure" },
    "keep-scratch": { type: "boolean", description: "keep every scratch directory, not only failed ones" },
    update: { type: "boolean", short: "u", description: "rewrite goldens that differ or are missing" },
    prune: { type: "boolean", description: "remove goldens that no scenario reads" },
    tag: { type: "string", short: "t", multiple: true, value: "TAG", description: "only scenarios with this tag (repeatable)" },
    "exclude-tag": { type: "string", multiple: true, value: "TAG", description: "skip scenarios with this tag (repeatable)" },
    filter: { type: "string", short: "k", value: "TEXT", description: "only scenarios whose name contains TEXT" },
    shard: { type: "string", value: "I/N", description: "run the I-th of N shards" },
    list: { type: "boolean", description: "list the selected scenarios and exit" },
    reporter: { type: "string", short: "r", value: "NAME", description: `output format: ${reporterNames.join(", ")}` },
    output: { type: "string", short: "o", value: "FILE", description: "write the reporter's output to FILE (console still prints)" },
  },
  async run({ values, positionals }, io) {
    const config = await loadConfig(io.cwd);
    const flags = runFlags(values, config);
    const ci = isCi(io.env);
    if (values.list) {
      const plan = await planRun({ cwd: io.cwd, scenarioRoot: config.scenarios, paths: positionals, selection: flags.selection });
      for (const i of plan.instances) io.stdout.write(`${displayName(i)}${i.tags.length ? `  [${i.tags.join(" ")}]` : ""}\n`);
      for (const f of plan.failures) io.stderr.write(`${f.file}: does not load\n${f.message}\n`);
      return plan.failures.length > 0 ? 1 : 0;
    }
    if (values.update && ci) io.stderr.write("blockcheck run: CI is set, so --update writes nothing\n");
    const deathWarning = flags.engines.includes("qemu") ? parentDeathWarning() : undefined;
    if (deathWarning) io.stderr.write(`blockcheck run: warning: ${deathWarning}\n`);
    const timesFile = path.join(io.cwd, TIMES_FILE);
    // The times file is written atomically too; a killed run may have left its temporary file.
    if (!ci) await sweepStaleTemps(path.dirname(timesFile));
    const previousTimes = await readTimes(timesFile);
    const color = wantsColor(io.env, io.stdout.isTTY);
    const { reporters, close } = await openReporters(values, io, { color, previousTimes });
    let failed: boolean;
    try {
      const summary = await runScenarios({
        cwd: io.cwd,
        scenarioRoot: config.scenarios,
        goldenRoot: config.golden,
        paths: positionals,
        engines: flags.engines,
        jobs: flags.jobs,
        timeoutMs: flags.timeoutMs,
        bail: values.bail === true,
        keepScratch: values["keep-scratch"] === true,
        update: values.update === true,
        ci,
        prune: values.prune === true,
        selection: flags.selection,
        color,
        // The runner owns each scratch directory (it removes it, or keeps it whole for inspection), so
        // QEMU's log stays in it whatever happens.
        makeEngine: (kind) => createEngine(kind, { qemu: { binaries: config.binaries, env: io.env, keepScratch: true } }),
        reporters,
      });
      failed = runFailed(summary);
      if (!ci) await saveTimes(timesFile, previousTimes, summary, io);
    } finally {
      await close();
    }
    return failed ? 1 : 0;
  },
};

/** The chosen reporter (to --output FILE or stdout), plus the console on stdout when writing to a file. */
async function openReporters(
  values: Record<string, unknown>,
  io: CliIo,
  opts: { color: boolean; previousTimes: ReadonlyMap<string, number> },
): Promise<{ reporters: Reporter[]; close: () => Promise<void> }> {
  const name = (values.reporter as string | undefined) ?? "console";
  const output = values.output as string | undefined;
  if (name === "junit" && output === undefined) throw new UsageError("--reporter junit needs --output FILE");
  const base = (out: ReporterContext["out"], isTTY: boolean, color: boolean): ReporterContext => ({
    out,
    isTTY,
    color,
    columns: io.stdout.columns ?? 80,
    now: () => performance.now(),
    previousTimes: opts.previousTimes,
  });
  const stdoutCtx = base(io.stdout, io.stdout.isTTY === true, opts.color);
  if (output === undefined) return { reporters: [createReporter(name, stdoutCtx)], close: async () => {} };
  const file = path.resolve(io.cwd, output);
  // Opened before anything runs, so that an unwritable file is an error now, not a crash at the end.
  const stream = await onFile("write --output", file, async () => {
    await mkdir(path.dirname(file), { recursive: true });
    const s = createWriteStream(file);
    await once(s, "open");
    return s;
  });
  const reporter = createReporter(name, base(stream, false, false));
  const reporters = name === "console" ? [reporter] : [createReporter("console", stdoutCtx), reporter];
  return {
    reporters,
    close: async () => {
      stream.end();
      await finished(stream);
    },
  };
}

/** Write the run times; a file that cannot be written costs only the times, so it is a warning. */
async function saveTimes(file: string, previous: ReadonlyMap<string, number>, summary: RunSummary, io: CliIo): Promise<void> {
  try {
    await writeTimes(file, previous, summary.results);
  } catch (e) {
    if (!(e instanceof FileSystemError)) throw e;
    io.stderr.write(`blockcheck run: warning: run times not saved: ${e.describe((abs) => path.relative(io.cwd, abs) || abs)}\n`);
  }
}
