/**
 * `iothread ID key=value …` → object-add qom-type=iothread id=ID with those properties. The run
 * remembers the ids it made: they are the contexts `expect context` looks among.
 */
import type { IothreadStatement } from "../../language/ast.js";
import { buildOptions } from "../blockdev-options.js";
import type { StepContext } from "../context.js";
import { resolverFor } from "./resolver.js";
import { commandStep, type StepResult } from "./step.js";

export async function iothreadStep(ctx: StepContext, stmt: IothreadStatement): Promise<StepResult> {
  const props = await buildOptions(stmt.options, undefined, resolverFor(ctx));
  const id = stmt.id.name;
  return commandStep(ctx, stmt, "object-add", { "qom-type": "iothread", id, ...props }, () => {
    if (!ctx.iothreads.includes(id)) ctx.iothreads.push(id);
  });
}
