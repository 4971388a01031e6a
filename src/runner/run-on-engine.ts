/**
 * One scenario instance on one fresh engine: start it in a private scratch directory, check the
 * requirements, run the statements in order, and always stop the engine. Produces the transcript
 * and the failures of the steps; golden comparison is the caller's.
 */
import { BlockcheckError } from "../errors.js";
import type { Engine } from "../engines/engine.js";
import type { Failure } from "../report/results.js";
import { renderTranscript, type TranscriptBlock } from "../transcript/transcript.js";
import { createContext, type StepContext } from "./context.js";
import { ScenarioTimeoutError, StepError } from "./errors.js";
import type { ScenarioInstance } from "./instance.js";
import { unmetRequirement, usesIo } from "./requirements.js";
import type { Scratch } from "./scratch.js";
import { runStatement, type StepMemory } from "./steps/index.js";

export interface EngineRun {
  status: "pass" | "fail" | "skip";
  /** The transcript (absent when skipped). */
  transcript?: string;
  failures: Failure[];
  skipReason?: string;
  durationMs: number;
}

export interface EngineRunOptions {
  /** Whole-run timeout in milliseconds. */
  timeoutMs: number;
  /** Clock for durations (injected for tests). */
  now?: () => number;
  /** Called after the last statement, before the engine stops (e.g. to read the final graph). */
  inspect?: (ctx: StepContext) => Promise<void>;
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
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      reject(new ScenarioTimeoutError(opts.timeoutMs));
    }, opts.timeoutMs);
  });
  let skipReason: string | undefined;
  try {
    await Promise.race([
      (async () => {
        await engine.start({ workdir: scratch.dir, signal: abort.signal, needsIo: usesIo(inst.scenario) });
        skipReason = unmetRequirement(inst.scenario, engine.describe());
        if (skipReason !== undefined) return;
        await runStatements(ctx, inst, blocks, failures, abort.signal);
        await opts.inspect?.(ctx);
      })(),
      timeout,
    ]);
  } catch (e) {
    failures.push(errorFailure(ctx, e));
    blocks.push({ step: "(run stopped)", output: [] });
  } finally {
    clearTimeout(timer);
    await engine.stop();
  }
  const durationMs = now() - t0;
  if (skipReason !== undefined && failures.length === 0) return { status: "skip", failures, skipReason, durationMs };
  const transcript = renderTranscript({ ...(inst.title !== undefined ? { title: inst.title } : {}), bindings: inst.bindings }, blocks);
  return { status: failures.length ? "fail" : "pass", transcript, failures, durationMs };
}

async function runStatements(
  ctx: StepContext,
  inst: ScenarioInstance,
  blocks: TranscriptBlock[],
  failures: Failure[],
  signal: AbortSignal,
): Promise<void> {
  const mem: StepMemory = { imageFormats: new Map() };
  for (const stmt of inst.scenario.statements) {
    if (signal.aborted) return;
    try {
      const r = await runStatement(ctx, stmt, mem);
      blocks.push(...r.blocks);
      failures.push(...r.failures);
    } catch (e) {
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
      return;
    }
  }
}

function errorFailure(ctx: StepContext, e: unknown): Failure {
  if (e instanceof ScenarioTimeoutError) return { kind: "timeout", message: e.message, ...phase(ctx) };
  if (e instanceof BlockcheckError) return { kind: "error", message: `${e.code}: ${e.message}`, ...phase(ctx) };
  throw e;
}

function phase(ctx: StepContext): { phase?: string } {
  return ctx.phase !== undefined ? { phase: ctx.phase } : {};
}
