/**
 * `job stream|commit|mirror|backup ID NODE key=value…` → block-stream, block-commit, blockdev-mirror or blockdev-backup with
 * `job-id` ID and `device` NODE; `job VERB ID key=value…` → block-job-VERB on ID. The transcript
 * shows the outcome only: what the job then does is for `wait` to show, once it is in a state that
 * does not depend on timing.
 */
import type { JobStatement, JobVerbStatement, OptionNode } from "../../language/ast.js";
import { commandArguments, JOB_COMMANDS, VERB_COMMANDS } from "../../language/job-commands.js";
import type { StepContext } from "../context.js";
import { nodeNameFor } from "../graph-state.js";
import { plainObject, plainValue } from "../plain-values.js";
import { resolverFor } from "./resolver.js";
import { commandStep, type StepResult } from "./step.js";

export async function jobStep(ctx: StepContext, stmt: JobStatement): Promise<StepResult> {
  const command = JOB_COMMANDS[stmt.jobType];
  const device = await nodeNameFor(ctx, stmt.node);
  const args = { "job-id": stmt.id.name, device, ...(await jobArguments(ctx, command, stmt.options)) };
  return commandStep(ctx, stmt, command, args);
}

export async function jobVerbStep(ctx: StepContext, stmt: JobVerbStatement): Promise<StepResult> {
  const { command, idMember } = VERB_COMMANDS[stmt.verb];
  const args = { [idMember]: stmt.id.name, ...(await jobArguments(ctx, command, stmt.options)) };
  return commandStep(ctx, stmt, command, args);
}

/**
 * The options as the command's arguments: a node argument (`base-node=hd0/backing`) resolved to the
 * node's current name, any other value as written. Options the command does not know are sent as
 * they are, so that QEMU reports them (the checker has already said so, unless the statement is
 * written to fail).
 */
async function jobArguments(ctx: StepContext, command: string, options: readonly OptionNode[]): Promise<Record<string, unknown>> {
  const args = commandArguments(command);
  const nodeArgs = new Set(args.filter((a) => a.node).map((a) => a.name));
  const strArgs = new Set(args.filter((a) => a.kind === "str").map((a) => a.name));
  const resolve = resolverFor(ctx);
  const texts = new Map<OptionNode, string>();
  for (const o of options) {
    // on/off for a string argument is the word as written: a node named off, say.
    const word = o.value.type === "word" ? o.value.value : o.value.type === "bool" ? o.value.raw : undefined;
    if (word === undefined) continue;
    if (nodeArgs.has(o.key)) texts.set(o, await resolve.nodeName(word, o.value));
    else if (strArgs.has(o.key) && o.value.type === "bool") texts.set(o, word);
  }
  return plainObject(options, (o) => texts.get(o) ?? plainValue(o.value));
}
