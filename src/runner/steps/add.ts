/** `add NAME: DRIVER k=v …` → blockdev-add; a `graph { … }` block is several adds, one block each. */
import type { AddStatement, GraphStatement } from "../../language/ast.js";
import { buildOptions } from "../blockdev-options.js";
import type { StepContext } from "../context.js";
import { resolverFor } from "./resolver.js";
import { commandStep, type StepResult } from "./step.js";

export async function addStep(ctx: StepContext, stmt: AddStatement): Promise<StepResult> {
  const args = {
    driver: stmt.driver.name,
    "node-name": stmt.name.name,
    ...(await buildOptions(stmt.options, stmt.driver.name, resolverFor(ctx))),
  };
  return commandStep(ctx, stmt, "blockdev-add", args, () => ctx.tracker.recordAdd(args));
}

/**
 * A `graph { … }` block is one transcript block: the block as written, then one outcome line per
 * node (`NAME: ok`, `NAME: error: DESC`), each checked against that line's own expectation.
 */
export async function graphStep(ctx: StepContext, stmt: GraphStatement): Promise<StepResult> {
  const out: StepResult = { blocks: [{ step: stmt.text, output: [] }], failures: [] };
  for (const node of stmt.nodes) {
    const r = await addStep(ctx, node);
    out.blocks[0]!.output.push(...r.blocks[0]!.output.map((line) => `${node.name.name}: ${line}`));
    out.failures.push(...r.failures);
  }
  return out;
}
