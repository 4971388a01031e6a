/** `del NODE` → blockdev-del. */
import type { DelStatement } from "../../language/ast.js";
import type { StepContext } from "../context.js";
import { nodeNameFor } from "../graph-state.js";
import { commandStep, type StepResult } from "./step.js";

export async function delStep(ctx: StepContext, stmt: DelStatement): Promise<StepResult> {
  const name = await nodeNameFor(ctx, stmt.node);
  return commandStep(ctx, stmt, "blockdev-del", { "node-name": name }, () => ctx.tracker.forget(name));
}
