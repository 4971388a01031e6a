/**
 * `io NODE "qemu-io command"`. qemu-io reports errors as text (`write failed: Permission denied`), so
 * the step fails when a line of its output has the form `<command> failed: <reason>`; that line is
 * the error message expectations match. The output goes into the transcript with timings removed.
 */
import type { IoStatement } from "../../language/ast.js";
import type { StepContext } from "../context.js";
import { StepError } from "../errors.js";
import { nodeNameFor, normalizeMessage } from "../graph-state.js";
import { normalizeIoOutput } from "../../transcript/normalize.js";
import { finish, type StepResult } from "./step.js";

const IO_FAILURE = /^\S+ failed: .*$/m;

export async function ioStep(ctx: StepContext, stmt: IoStatement): Promise<StepResult> {
  // Requirements skip a scenario the engine cannot run; this guards scenarios that were not validated.
  if (!ctx.engine.describe().features.has("io")) throw new StepError(`the ${ctx.engine.kind} engine cannot run qemu-io`, stmt.location);
  const node = await nodeNameFor(ctx, stmt.node);
  const raw = await ctx.engine.io(node, stmt.command.value);
  const output = normalizeIoOutput(await normalizeMessage(ctx, raw)).replace(/\s+$/, "");
  const failed = IO_FAILURE.exec(output);
  const lines = output ? output.split("\n") : [];
  return finish(ctx, stmt, failed ? { ok: false, desc: failed[0] } : { ok: true }, failed ? lines.filter((l) => l !== failed[0]) : lines);
}
