/** What every step returns, and the shared way to run one QMP command as a step. */
import type { Expectation, Statement } from "../../language/ast.js";
import type { Failure } from "../results.js";
import type { TranscriptBlock } from "../../transcript/transcript.js";
import { stepFailure, type StepContext } from "../context.js";
import { checkExpectation, outcomeLine, type Outcome } from "../expectation.js";
import { normalizeMessage } from "../graph-state.js";
import { confineQmp } from "../qmp-confinement.js";

/** A step's contribution: transcript blocks and failures (expectations not met). */
export interface StepResult {
  blocks: TranscriptBlock[];
  failures: Failure[];
}

/** Send one command; the outcome is recorded and checked against the expectation. */
export async function commandStep(
  ctx: StepContext,
  stmt: Statement & { expectation?: Expectation },
  command: string,
  args: Record<string, unknown>,
  onSuccess?: () => Promise<void> | void,
): Promise<StepResult & { outcome: Outcome }> {
  // What a statement builds is held to the scratch directory as the qmp escape hatch is.
  confineQmp(ctx, command, args, stmt.location);
  const reply = await ctx.engine.qmp(command, args);
  const outcome: Outcome =
    "error" in reply ? { ok: false, desc: await normalizeMessage(ctx, reply.error.desc) } : { ok: true };
  if (outcome.ok) await onSuccess?.();
  return { ...finish(ctx, stmt, outcome, []), outcome };
}

/** A block for the statement with its outcome line (and any extra lines), plus the expectation check. */
export function finish(
  ctx: StepContext,
  stmt: Statement & { expectation?: Expectation },
  outcome: Outcome,
  extra: string[],
  step: string = stmt.text,
): StepResult {
  const problem = checkExpectation(stmt.expectation, outcome);
  return {
    blocks: [{ step, output: [outcomeLine(outcome), ...extra] }],
    failures: problem ? [stepFailure(ctx, stmt, "expectation", problem)] : [],
  };
}
