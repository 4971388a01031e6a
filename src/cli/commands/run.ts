/** `blockcheck run [PATH…]`: run scenarios, compare with goldens, report. */
import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { once } from "node:events";
import { finished } from "node:stream/promises";
import { cachesOff, userCacheDir } from "../../cache-dir.js";
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
import { wantsColor } from "../../runner/env.js";
import { goldenChanges } from "../../runner/golden-changes.js";
import { checkQemuBinaries } from "../../runner/preflight.js";
import { findProjectRoot } from "../../runner/project-root.js";
import { planRun, runScenarios } from "../../runner/run-all.js";
import { ResultCache } from "../../runner/result-cache.js";
import { displayName, isUnfiltered } from "../../runner/selection.js";
import type { QemuBinaries } from "../../engines/qemu/binaries.js";
import { ownBuildId } from "../bundle-manifest.js";
import type { CliIo, Command } from "../command.js";
import { EXIT } from "../help.js";
import { ciMode, runFlags } from "./run-options.js";

/** Where previous run times are kept, relative to the project root. */
export const TIMES_FILE = ".blockcheck/times.json";
/** Where model results are kept across runs (runner/result-cache.ts), relative to the project root. */
export const RESULTS_FILE = ".blockcheck/results.json";

export const runCommand: Command = {
  name: "run",
  summary: "run scenarios and compare their transcripts with golden files",
  usage: "[PATH…]",
  description: [
    "Runs every scenario under the scenario root (tests/scenarios), or those PATH names: files or",
    "directories (relative to the working directory or to the scenario root, so 'reopen/' and",
    "'tests/scenarios/reopen' are the same), or globs over scenario names (reopen/*). Works from any",
    "directory of the project (found by walking up to blockcheck.config.json or package.json).",
    "Each scenario, and each parameter value, runs on a fresh engine in a private scratch directory,",
    "removed on success and kept on failure (with the images, .qmp.log and QEMU's log), and named.",
    "Interrupted runs remove theirs; what a killed run left is swept by the next one.",
    "",
    "A transcript that differs from its golden prints a diff and is written as NAME.out.bad beside it;",
    "a scenario without a golden writes NAME.out.new. Both record which engine and run wrote them",
    "(NAME.out.bad.json) and wait for 'blockcheck review' or 'blockcheck accept'. A run that did not",
    "finish (QEMU crashed or hung, timeout) is reported as such and writes nothing. --update writes",
    "the goldens instead and prints what it created, updated or left alone.",
    "",
    "A selection with no scenario fails, unless --pass-with-none. A QEMU that cannot be run stops the",
    "run before it starts.",
    "",
    "--pictures also draws each 'show graph' step as an SVG picture beside the golden: NAME.N.svg for",
    "the N-th 'show graph', NAME.PICTURE.svg for 'show graph PICTURE'. Pictures are written by passing",
    "runs (QEMU's with both engines), never compared; a failed run keeps them in its scratch directory.",
    "",
    "On the model, a file whose runs all passed and that has not changed since (nor its goldens, the",
    "options or the build) is not run again: its results are reported as they were, marked (cached).",
    "",
    "With CI set in the environment, or with --ci, nothing is written: no pending file, no --update,",
    "no times file, and a missing golden is a failure. CI runs every scenario, cached or not.",
    "Exit status: 0 all passed, 1 any failure or nothing selected, 2 usage or configuration error",
    "(a missing QEMU included), 70 internal error (a bug).",
  ].join("\n"),
  options: {
    engine: { type: "string", short: "e", value: "ENGINE", description: "model (default), qemu, or both (and diff them)" },
    jobs: { type: "string", short: "j", value: "N", description: "runs in parallel (default: number of cores, 1.5 times that with QEMU)" },
    timeout: { type: "string", value: "SECONDS", description: "per-scenario timeout (default 60)" },
    bail: { type: "boolean", description: "stop starting scenarios after the first failure" },
    "keep-scratch": { type: "boolean", description: "keep every scratch directory, not only failed ones" },
    "fresh-qemu": { type: "boolean", description: "start a QEMU for every scenario, never reuse one proven clean (docs/cli.md)" },
    "allow-unsafe": { type: "boolean", description: "run scenarios that say 'require unsafe' (QMP commands that can run programs)" },
    update: { type: "boolean", short: "u", description: "rewrite goldens that differ or are missing" },
    pictures: { type: "boolean", description: "draw each 'show graph' as SVG beside the golden (NAME.N.svg, NAME.PICTURE.svg)" },
    prune: { type: "boolean", description: "remove goldens and pending files that no scenario reads" },
    "pass-with-none": { type: "boolean", description: "pass when the selection holds no scenario" },
    trace: { type: "boolean", short: "d", description: "print every QMP command and reply, and qemu-io, per step, to stderr" },
    ci: { type: "boolean", description: "CI mode, as with CI set: write nothing, a missing golden fails" },
    tag: { type: "string", short: "t", multiple: true, value: "TAG", description: "only scenarios with this tag (repeatable)" },
    "exclude-tag": { type: "string", multiple: true, value: "TAG", description: "skip scenarios with this tag (repeatable)" },
    filter: { type: "string", short: "k", value: "TEXT", description: "only scenarios whose name contains TEXT" },
    shard: { type: "string", value: "I/N", description: "run the I-th of N shards" },
    list: { type: "boolean", description: "list the selected scenarios and exit" },
    reporter: { type: "string", short: "r", value: "NAME", description: `output format: ${reporterNames.join(", ")}` },
    output: { type: "string", short: "o", value: "FILE", description: "write the reporter's output to FILE (console still prints); default stdout" },
  },
  async run({ values, positionals }, io) {
    const root = await findProjectRoot(io.cwd);
    const config = await loadConfig(root);
    const flags = runFlags(values, config);
    const ci = ciMode(values, io.env);
    const passWithNone = values["pass-with-none"] === true;
    if (values.list) {
      const plan = await planRun({ cwd: io.cwd, scenarioRoot: config.scenarios, paths: positionals, selection: flags.selection, passWithNone });
      for (const i of plan.instances) io.stdout.write(`${displayName(i)}${i.tags.length ? `  [${i.tags.join(" ")}]` : ""}\n`);
      for (const f of plan.failures) io.stderr.write(`${f.file}: does not load\n${f.message}\n`);
      return plan.failures.length > 0 ? 1 : 0;
    }
    if (values.update && ci) io.stderr.write("blockcheck run: in CI mode (CI set, or --ci) --update writes nothing\n");
    if (values.pictures && ci) io.stderr.write("blockcheck run: in CI mode (CI set, or --ci) --pictures draws nothing\n");
    const pictures: string[] = [];
    if (values.prune) {
      if (ci) io.stderr.write("blockcheck run: in CI mode (CI set, or --ci) --prune removes nothing\n");
      else if (positionals.length > 0 || !isUnfiltered(flags.selection)) {
        io.stderr.write(
          "blockcheck run: --prune does nothing with a selection: orphan goldens are found only when every scenario runs " +
            "(no PATH, --tag, --exclude-tag, -k or --shard)\n",
        );
      }
    }
    const deathWarning = flags.engines.includes("qemu") ? parentDeathWarning() : undefined;
    if (deathWarning) io.stderr.write(`blockcheck run: warning: ${deathWarning}\n`);
    // Loaded scenarios are kept across runs of the bundled CLI (run from the sources, there is no build to key them).
    const buildId = cachesOff(io.env) ? undefined : ownBuildId();
    const timesFile = path.join(root, TIMES_FILE);
    // The times file is written atomically too; a killed run may have left its temporary file.
    if (!ci) await sweepStaleTemps(path.dirname(timesFile));
    const previousTimes = await readTimes(timesFile);
    const resultsFile = path.join(root, RESULTS_FILE);
    const resultCache =
      buildId && !ci && flags.engines.length === 1 && flags.engines[0] === "model"
        ? ResultCache.read(resultsFile, { buildId, cwd: io.cwd, goldenRoot: config.golden, timeoutMs: flags.timeoutMs, allowUnsafe: values["allow-unsafe"] === true })
        : undefined;
    const color = wantsColor(io.env, io.stdout.isTTY);
    const { reporters, close, notes } = await openReporters(values, io, { color, previousTimes });
    // Set by the preflight: the QEMU binaries as checked (relative paths made absolute).
    let binaries: Partial<QemuBinaries> = config.binaries;
    let failed: boolean;
    let bug = false;
    let summary: RunSummary;
    try {
      summary = await runScenarios({
        ...(buildId ? { loadCache: { dir: path.join(userCacheDir(io.env), "scenarios"), buildId } } : {}),
        ...(resultCache ? { resultCache } : {}),
        previousTimes,
        cwd: io.cwd,
        projectRoot: root,
        scenarioRoot: config.scenarios,
        goldenRoot: config.golden,
        paths: positionals,
        engines: flags.engines,
        jobs: flags.jobs,
        timeoutMs: flags.timeoutMs,
        bail: values.bail === true,
        keepScratch: values["keep-scratch"] === true,
        freshQemu: values["fresh-qemu"] === true,
        allowUnsafe: values["allow-unsafe"] === true,
        pictures: values.pictures === true,
        onPicturesWritten: (files) => pictures.push(...files),
        update: values.update === true,
        ci,
        prune: values.prune === true,
        passWithNone,
        selection: flags.selection,
        color,
        ...(values.trace === true ? { trace: (line: string) => void io.stderr.write(line + "\n") } : {}),
        ...(flags.engines.includes("qemu")
          ? {
              preflight: async (instances) => {
                binaries = await checkQemuBinaries(instances, {
                  given: config.binaries,
                  givenIn: config.source,
                  givenDir: root,
                  // QEMU is spawned with this process's environment, so that is the PATH it is found on.
                  env: { ...io.env, PATH: io.env.PATH ?? process.env.PATH },
                  cwd: io.cwd,
                });
              },
            }
          : {}),
        // The runner owns each scratch directory (it removes it, or keeps it whole for inspection), so
        // QEMU's log stays in it whatever happens.
        makeEngine: (kind) => createEngine(kind, { qemu: { binaries, env: io.env, keepScratch: true } }),
        // createEngine makes a plain ModelEngine, as a worker does. A model thread keeps about 1.5
        // cores busy (V8's garbage collector and compiler run beside it), and on 2 cores two
        // workers were slower than one thread (docs/performance.md): half the cores at most.
        modelWorkers: Math.floor(os.availableParallelism() / 2),
        reporters,
      });
      failed = runFailed(summary);
      bug = summary.results.some((r) => r.failures.some((f) => f.internal));
      if (!ci) await saveTimes(timesFile, previousTimes, summary, io);
      if (resultCache) await saveResults(resultCache, resultsFile, io);
    } finally {
      await close();
    }
    if (!ci) notes.write(renderGoldenNotes(summary, values.update === true) + renderPictureNotes(pictures, io.cwd));
    return bug ? EXIT.internal : failed ? 1 : 0;
  },
};

/** After the results: what --update did to each golden, or the pending files waiting for review. */
function renderGoldenNotes(summary: RunSummary, update: boolean): string {
  const c = goldenChanges(summary);
  const out: string[] = [];
  if (update) {
    const counts = [`${c.created.length} created`, `${c.updated.length} updated`, `${c.unchanged.length} unchanged`, `${c.leftAlone.length} left alone`];
    out.push("", `Goldens (--update): ${counts.join(", ")}`);
    out.push(...c.created.map((f) => `  created      ${f}`), ...c.updated.map((f) => `  updated      ${f}`));
    out.push(...c.leftAlone.map((l) => `  left alone   ${l.file}: ${l.why}`));
  }
  if (c.pending.length > 0) {
    out.push("", `Pending goldens (${c.pending.length}): review them with 'npx blockcheck review', or promote them with 'npx blockcheck accept'`);
    out.push(...c.pending.map((p) => `  ${p.file}  (${p.kind === "new" ? "new, " : ""}written by ${p.engine})`));
  }
  return out.length > 0 ? out.join("\n") + "\n" : "";
}

/** After the results, with --pictures: the pictures written beside the goldens. */
function renderPictureNotes(files: readonly string[], cwd: string): string {
  if (files.length === 0) return "";
  const shown = files.map((f) => path.relative(cwd, f) || f).sort();
  return ["", `Pictures (--pictures): ${shown.length} written`, ...shown.map((f) => `  ${f}`)].join("\n") + "\n";
}

/** The chosen reporter (to --output FILE or stdout), plus the console on stdout when writing to a file. */
async function openReporters(
  values: Record<string, unknown>,
  io: CliIo,
  opts: { color: boolean; previousTimes: ReadonlyMap<string, number> },
): Promise<{ reporters: Reporter[]; close: () => Promise<void>; notes: CliIo["stdout"] }> {
  const name = (values.reporter as string | undefined) ?? "console";
  const output = values.output as string | undefined;
  const base = (out: ReporterContext["out"], isTTY: boolean, color: boolean): ReporterContext => ({
    out,
    isTTY,
    color,
    columns: io.stdout.columns ?? 80,
    now: () => performance.now(),
    previousTimes: opts.previousTimes,
  });
  const stdoutCtx = base(io.stdout, io.stdout.isTTY === true, opts.color);
  // Notes for people go where the console reporter writes, never into a machine format on stdout.
  const notes = name === "console" || output !== undefined ? io.stdout : io.stderr;
  if (output === undefined) return { reporters: [await createReporter(name, stdoutCtx)], close: async () => {}, notes };
  const file = path.resolve(io.cwd, output);
  // Opened before anything runs, so that an unwritable file is an error now, not a crash at the end.
  const stream = await onFile("write --output", file, async () => {
    await mkdir(path.dirname(file), { recursive: true });
    const s = createWriteStream(file);
    await once(s, "open");
    return s;
  });
  const reporter = await createReporter(name, base(stream, false, false));
  const reporters = name === "console" ? [reporter] : [await createReporter("console", stdoutCtx), reporter];
  return {
    reporters,
    close: async () => {
      stream.end();
      await finished(stream);
    },
    notes,
  };
}

/** Write the run times; a file that cannot be written costs only the times, so it is a warning. */
/** Like the times, model results that cannot be kept are worth a warning, not a failed run. */
async function saveResults(cache: ResultCache, file: string, io: CliIo): Promise<void> {
  try {
    await cache.write(file);
  } catch (e) {
    if (!(e instanceof FileSystemError)) throw e;
    io.stderr.write(`blockcheck run: warning: model results not kept: ${e.describe((abs) => path.relative(io.cwd, abs) || abs)}\n`);
  }
}

async function saveTimes(file: string, previous: ReadonlyMap<string, number>, summary: RunSummary, io: CliIo): Promise<void> {
  try {
    await writeTimes(file, previous, summary.results);
  } catch (e) {
    if (!(e instanceof FileSystemError)) throw e;
    io.stderr.write(`blockcheck run: warning: run times not saved: ${e.describe((abs) => path.relative(io.cwd, abs) || abs)}\n`);
  }
}
