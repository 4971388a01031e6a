/**
 * How a crash, or an engine that did not end cleanly, shows in a run. The transcript gets only what
 * both engines can say alike (`QEMU crashed: SIGABRT`), so a crash reads the same on the model and
 * on QEMU; the engine's own detail (QEMU's log tail, the model's assertion text) goes into the
 * failure, which is not compared.
 */
import type { EngineStopOutcome } from "../engines/engine.js";
import { EngineCrashedError, exitSummary, type EngineFailedError } from "../engines/errors.js";
import type { Statement } from "../language/ast.js";
import type { TranscriptBlock } from "../transcript/transcript.js";
import { stepFailure, type StepContext } from "./context.js";
import type { Failure } from "./results.js";

/** The block that ends a run the runner stopped early. */
export const RUN_STOPPED: TranscriptBlock = { step: "(run stopped)", output: [] };

/**
 * A statement during which QEMU died (or the model knows it would have), hung or lost its monitor:
 * its block (the step as written, then how QEMU ended) and its failure, located at the statement.
 */
export function crashedStep(
  ctx: StepContext,
  stmt: Statement,
  e: EngineCrashedError | EngineFailedError,
): { block: TranscriptBlock; failure: Failure } {
  const line = e instanceof EngineCrashedError ? `QEMU crashed: ${e.summary}` : e.summary;
  return {
    block: { step: stmt.text, output: [line] },
    failure: { ...stepFailure(ctx, stmt, "error", `${e.code}: ${retold(e, stmt)}`), infrastructure: true },
  };
}

/**
 * The engine's message, which names the QMP command QEMU was running, told with the statement that
 * sent it where the two differ: `io` runs qemu-io through human-monitor-command, `add` is
 * blockdev-add. "QEMU died during 'io' (QMP human-monitor-command, killed by signal SIGSEGV)".
 */
function retold(e: EngineCrashedError | EngineFailedError, stmt: Statement): string {
  const label = statementLabel(stmt);
  if (label === e.command) return e.message;
  const quoted = `'${e.command}'`;
  const at = e.message.indexOf(quoted);
  if (at < 0) return `during '${label}' (QMP ${e.command}): ${e.message}`;
  const after = e.message.slice(at + quoted.length);
  const told = after.startsWith(" (") ? `'${label}' (QMP ${e.command}, ${after.slice(2)}` : `'${label}' (QMP ${e.command})${after}`;
  return e.message.slice(0, at) + told;
}

/** What a reader calls the statement: its command word, or a qmp statement's QMP command. */
function statementLabel(stmt: Statement): string {
  if (stmt.type === "qmp") return stmt.command.name;
  if (stmt.type === "add") return "add"; // a graph block's lines leave the word out
  return /^[A-Za-z-]+/.exec(stmt.text)?.[0] ?? stmt.type;
}

/**
 * A run stopped by its own timeout while `stmt` ran: the step as written, marked, so the transcript
 * shows where it stopped, and the failure located there.
 */
export function timedOutStep(ctx: StepContext, stmt: Statement, message: string): { block: TranscriptBlock; failure: Failure } {
  return {
    block: { step: stmt.text, output: ["(timed out)"] },
    failure: { ...stepFailure(ctx, stmt, "timeout", message), infrastructure: true },
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
    case "unknown":
      // No transcript line QEMU could print: the run fails, as the model's refusals in a statement do.
      return {
        block: { step: "(quit)", output: ["(the model cannot tell how QEMU ends)"] },
        failure: { kind: "error", message: `E_MODEL_IO_UNSUPPORTED: the model engine cannot tell how QEMU 7.2 ends at quit: ${outcome.reason}`, infrastructure: true },
      };
  }
}

function tail(logTail: string): { details?: string } {
  return logTail.trim() ? { details: `QEMU log (tail):\n${logTail.trimEnd()}` } : {};
}
