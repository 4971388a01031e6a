/**
 * One scenario instance on one fresh engine: start it in a private scratch directory with the
 * features the scenario needs, check the requirements, run the statements in order, and always stop
 * the engine. A QEMU that crashes stops the run; one that does not end cleanly at quit fails it.
 * Produces the transcript and the failures of the steps; golden comparison is the caller's.
 *
 * A failure that is not the scenario's (a crash, a hang, a timeout, an engine that cannot start) is
 * marked `infrastructure`: the caller then does not compare the transcript. A QEMU binary that
 * cannot be run at all is no scenario's failure: it is thrown, and stops the whole run.
 */
import { BlockcheckError, ConfigError } from "../errors.js";
import { errnoReason, FileSystemError, isErrnoException } from "../file-errors.js";
import type { Engine } from "../engines/engine.js";
import { EngineCrashedError, EngineFailedError } from "../engines/errors.js";
import type { Failure } from "./results.js";
import { renderTranscript, type TranscriptBlock } from "../transcript/transcript.js";
import { createContext, type StepContext, stepFailure } from "./context.js";
import { crashedStep, RUN_STOPPED, timedOutStep, uncleanEnd } from "./engine-end.js";
import { QemuUnavailableError, ScenarioTimeoutError, StepError } from "./errors.js";
import type { Statement } from "../language/ast.js";
import type { ScenarioInstance } from "./instance.js";
import { neededFeatures, unmetRequirement } from "./requirements.js";
import type { Scratch } from "./scratch.js";
import { runStatement, type StepMemory } from "./steps/index.js";
import { PictureBook } from "./steps/show-picture.js";
import type { DrawnPicture } from "../picture/picture-files.js";
import { displayName } from "./selection.js";

export interface EngineRun {
  status: "pass" | "fail" | "skip";
  /** The transcript (absent when skipped). */
  transcript?: string;
  failures: Failure[];
  skipReason?: string;
  durationMs: number;
  /** The QEMU version the engine is or models, once started (e.g. "7.2.22"). */
  engineVersion?: string;
  /** With `pictures`: what the `show graph` steps drew, in step order. */
  pictures?: DrawnPicture[];
}

export interface EngineRunOptions {
  /** Whole-run timeout in milliseconds. */
  timeoutMs: number;
  /** Clock for durations (injected for tests). */
  now?: () => number;
  /** Called after the last statement, before the engine stops (e.g. to read the final graph). */
  inspect?: (ctx: StepContext) => Promise<void>;
  /** Called as each statement starts (for --trace). */
  onStep?: (stmt: Statement) => void;
  /** `--allow-unsafe`: a scenario that says `require unsafe` may run unsafe QMP commands (default false). */
  allowUnsafe?: boolean;
  /** `--pictures`: each `show graph` step also draws the graph as SVG (EngineRun.pictures). */
  pictures?: boolean;
}

/** Run `inst` on `engine` (fresh, not started) in `scratch`. */
export async function runOnEngine(
  inst: ScenarioInstance,
  engine: Engine,
  scratch: Scratch,
  opts: EngineRunOptions,
): Promise<EngineRun> {
  const now = opts.now ?? (() => performance.now());
  const t0 = now();
  const blocks: TranscriptBlock[] = [];
  const failures: Failure[] = [];
  const abort = new AbortController();
  const ctx = createContext(engine, scratch.dir, scratch.aliases, inst.file);
  if (scratch.planned) ctx.scratchOnDisk = false;
  if (opts.pictures) ctx.pictures = new PictureBook(displayName(inst));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      reject(new ScenarioTimeoutError(opts.timeoutMs));
    }, opts.timeoutMs);
  });
  let skipReason: string | undefined;
  let engineVersion: string | undefined;
  // The statement being run, for a timeout to name.
  const progress: { current?: Statement } = {};
  // Whether the run got to its end on its own: only then does an unclean end of the engine count.
  let completed = false;
  try {
    await Promise.race([
      (async () => {
        await engine.start({ workdir: scratch.dir, signal: abort.signal, features: neededFeatures(inst.scenario), label: inst.suffix ? `${inst.file} [${inst.suffix}]` : inst.file });
        const info = engine.describe();
        engineVersion = `${info.version.major}.${info.version.minor}.${info.version.micro}`;
        skipReason = unmetRequirement(inst.scenario, info, { allowUnsafe: opts.allowUnsafe ?? false });
        // Past the requirements, a scenario that says `require unsafe` runs with --allow-unsafe.
        ctx.unsafeAllowed = inst.scenario.statements.some((s) => s.type === "require" && s.what.name === "unsafe");
        if (skipReason !== undefined) {
          completed = true;
          return;
        }
        if ((await runStatements(ctx, inst, blocks, failures, abort.signal, opts.onStep, progress)) === "crashed") return;
        progress.current = undefined;
        await opts.inspect?.(ctx);
        completed = true;
      })(),
      timeout,
    ]);
  } catch (e) {
    // QEMU that cannot be run fails every scenario alike: it ends the whole run instead.
    if (e instanceof ConfigError && !(e instanceof FileSystemError)) {
      throw engine.kind === "qemu" && !(e instanceof QemuUnavailableError) ? new QemuUnavailableError([e.message]) : e;
    }
    if (e instanceof ScenarioTimeoutError && progress.current) {
      // The statement that was running when time ran out: the story shows where it stopped.
      const stopped = timedOutStep(ctx, progress.current, e.message);
      blocks.push(stopped.block);
      failures.push(stopped.failure);
    } else if (isBug(e)) {
      // One scenario that meets a bug (in the model, most likely) says so where it stopped; the
      // other runs still report, and the command exits 70.
      const bug = bugStep(ctx, progress.current, e);
      if (bug.block) blocks.push(bug.block);
      failures.push(bug.failure);
    } else {
      failures.push(errorFailure(ctx, e, progress.current));
    }
    blocks.push(RUN_STOPPED);
  } finally {
    clearTimeout(timer);
    const end = await stopEngine(ctx, engine, failures);
    if (completed && end) {
      blocks.push(end.block);
      failures.push(end.failure);
    }
  }
  const durationMs = now() - t0;
  const version = { ...(engineVersion !== undefined ? { engineVersion } : {}), ...(ctx.pictures ? { pictures: ctx.pictures.drawn } : {}) };
  if (skipReason !== undefined && failures.length === 0) return { status: "skip", failures, skipReason, durationMs, ...version };
  const transcript = renderTranscript({ ...(inst.title !== undefined ? { title: inst.title } : {}), bindings: inst.bindings }, blocks);
  return { status: failures.length ? "fail" : "pass", transcript, failures, durationMs, ...version };
}

async function runStatements(
  ctx: StepContext,
  inst: ScenarioInstance,
  blocks: TranscriptBlock[],
  failures: Failure[],
  signal: AbortSignal,
  onStep: ((stmt: Statement) => void) | undefined,
  progress: { current?: Statement },
): Promise<"done" | "crashed"> {
  const mem: StepMemory = { imageFormats: new Map() };
  for (const stmt of inst.scenario.statements) {
    if (signal.aborted) return "done";
    progress.current = stmt;
    onStep?.(stmt);
    try {
      const r = await runStatement(ctx, stmt, mem);
      blocks.push(...r.blocks);
      failures.push(...r.failures);
    } catch (e) {
      if (e instanceof EngineCrashedError || e instanceof EngineFailedError) {
        // The step's own output is lost with QEMU; the story ends with how it died or hung.
        const crash = crashedStep(ctx, stmt, e);
        blocks.push(crash.block, RUN_STOPPED);
        failures.push(crash.failure);
        return "crashed";
      }
      if (!(e instanceof StepError)) throw e;
      // A statement the runner cannot carry out: the rest of the story would be meaningless.
      blocks.push({ step: stmt.text, output: [`runner error: ${e.message}`] });
      failures.push({
        kind: "error",
        message: e.message,
        location: `${ctx.file}:${e.location.start.line}`,
        ...(ctx.phase !== undefined ? { phase: ctx.phase } : {}),
        source: stmt.text,
      });
      return "done";
    }
  }
  return "done";
}

/**
 * Stop the engine; what its stop throws (a bug in the model's close at quit, say) is this run's
 * failure, like a throw of a statement, and the other runs go on.
 */
async function stopEngine(ctx: StepContext, engine: Engine, failures: Failure[]): Promise<ReturnType<typeof uncleanEnd>> {
  try {
    return uncleanEnd(await engine.stop());
  } catch (e) {
    failures.push(isBug(e) ? bugStep(ctx, undefined, e).failure : errorFailure(ctx, e, undefined));
    return undefined;
  }
}

/** A throw no engine or step is meant to make: not typed, not the file system's. */
function isBug(e: unknown): boolean {
  return !(e instanceof BlockcheckError) && !(e instanceof ScenarioTimeoutError) && !isErrnoException(e);
}

/** The failure of a run a bug stopped, at the statement that was running, with the stack as detail. */
function bugStep(ctx: StepContext, stmt: Statement | undefined, e: unknown): { block?: TranscriptBlock; failure: Failure } {
  const message = `internal error (this is a bug): ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
  const details = e instanceof Error && e.stack ? e.stack : undefined;
  const where = stmt ? stepFailure(ctx, stmt, "error", message) : { kind: "error" as const, message, ...phase(ctx) };
  return {
    ...(stmt ? { block: { step: stmt.text, output: [message] } } : {}),
    failure: { ...where, ...(details ? { details } : {}), infrastructure: true, internal: true },
  };
}

/**
 * A throw that stopped the run: none of these is the scenario's doing, so all are infrastructure.
 * One thrown by a statement (an engine that cannot answer it) is located at it.
 */
function errorFailure(ctx: StepContext, e: unknown, stmt: Statement | undefined): Failure {
  const infrastructure = true as const;
  if (e instanceof ScenarioTimeoutError) return { kind: "timeout", message: e.message, infrastructure, ...phase(ctx) };
  if (e instanceof BlockcheckError) {
    const message = `${e.code}: ${e.message}`;
    return stmt ? { ...stepFailure(ctx, stmt, "error", message), infrastructure } : { kind: "error", message, infrastructure, ...phase(ctx) };
  }
  // A file system that fails under an engine (a full disk under the model's images) is this run's
  // failure, not a crash of the whole run.
  if (isErrnoException(e)) {
    return { kind: "error", message: `file system: ${errnoReason(e)}${e.path ? `: ${e.path}` : ""}`, infrastructure, ...phase(ctx) };
  }
  throw e;
}

function phase(ctx: StepContext): { phase?: string } {
  return ctx.phase !== undefined ? { phase: ctx.phase } : {};
}
