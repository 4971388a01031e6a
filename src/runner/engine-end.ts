/**
 * How a crash, or an engine that did not end cleanly, shows in a run. The transcript gets only what
 * both engines can say alike (`QEMU crashed: SIGABRT`), so a crash reads the same on the model and
 * on QEMU; the engine's own detail (QEMU's log tail, the model's assertion text) goes into the
 * failure, which is not compared.
 */
import type { EngineStopOutcome } from "../engines/engine.js";
import { exitSummary, type EngineCrashedError } from "../engines/errors.js";
import type { Statement } from "../language/ast.js";
import type { TranscriptBlock } from "../transcript/transcript.js";
import { stepFailure, type StepContext } from "./context.js";
import type { Failure } from "./results.js";

/** The block that ends a run the runner stopped early. */
export const RUN_STOPPED: TranscriptBlock = { step: "(run stopped)", output: [] };

/** A statement during which QEMU died (or the model knows it would have): its block and failure. */
export function crashedStep(ctx: StepContext, stmt: Statement, e: EngineCrashedError): { block: TranscriptBlock; failure: Failure } {
  return {
    block: { step: stmt.text, output: [`QEMU crashed: ${e.summary}`] },
    failure: { ...stepFailure(ctx, stmt, "error", `${e.code}: ${e.message}`), infrastructure: true },
  };
}

/**
 * A run whose statements all ran but whose engine did not end cleanly at quit (crashed, or hung and
 * was killed) fails: a QEMU that crashes at quit is a result, not a detail.
 */
export function uncleanEnd(outcome: EngineStopOutcome): { block: TranscriptBlock; failure: Failure } | undefined {
  switch (outcome.kind) {
    case "clean":
      return undefined;
    case "crashed":
      return {
        block: { step: "(quit)", output: [`QEMU crashed: ${exitSummary(outcome.exit)}`] },
        failure: { kind: "error", message: `QEMU crashed at quit (${exitSummary(outcome.exit)})`, infrastructure: true, ...tail(outcome.logTail) },
      };
    case "killed":
      return {
        block: { step: "(quit)", output: ["QEMU hung at quit and was killed"] },
        failure: { kind: "error", message: `QEMU hung at quit: ${outcome.reason}`, infrastructure: true, ...tail(outcome.logTail) },
      };
  }
}

function tail(logTail: string): { details?: string } {
  return logTail.trim() ? { details: `QEMU log (tail):\n${logTail.trimEnd()}` } : {};
}
