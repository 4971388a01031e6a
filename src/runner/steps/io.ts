/**
 * `io NODE "qemu-io command"`. qemu-io reports failure only in its output (see io-outcome.ts), so the
 * step reads its outcome from there: a failed command is an error outcome that needs `-> error …`
 * like any other step, and its message is the failing line. Every line of the output goes into the
 * transcript in qemu-io's own words, with timings removed as qemu-iotests' `_filter_qemu_io` does.
 */
import type { IoStatement } from "../../language/ast.js";
import type { StepContext } from "../context.js";
import { StepError } from "../errors.js";
import { nodeNameFor, normalizeMessage } from "../graph-state.js";
import { normalizeIoOutput } from "../../transcript/normalize.js";
import { ioOutcome, splitIoOutput } from "./io-outcome.js";
import { finish, type StepResult } from "./step.js";

export async function ioStep(ctx: StepContext, stmt: IoStatement): Promise<StepResult> {
  // Requirements skip a scenario the engine cannot run; this guards scenarios that were not validated.
  if (!ctx.engine.describe().features.has("io")) throw new StepError(`the ${ctx.engine.kind} engine cannot run qemu-io`, stmt.location);
  const node = await nodeNameFor(ctx, stmt.node);
  const raw = await ctx.engine.io(node, stmt.command.value);
  const lines = splitIoOutput(raw).map((l) => ({ ...l, text: normalizeIoOutput(l.text) }));
  // Paths and implicit node names, once for the whole output (it may query the graph).
  const texts = (await normalizeMessage(ctx, lines.map((l) => l.text).join("\n"))).split("\n");
  const normalized = lines.map((l, i) => ({ ...l, text: texts[i] ?? l.text }));
  return finish(ctx, stmt, ioOutcome(stmt.command.value, normalized), normalized.map((l) => l.text));
}
