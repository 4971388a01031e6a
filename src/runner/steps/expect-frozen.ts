/**
 * `expect frozen PARENT -backing-> CHILD`: a job has frozen that link, so nothing may change it.
 *
 * No query shows a frozen link, so it is seen the way a user meets one: a blockdev-reopen of PARENT
 * that drops its backing child (`backing: null`) and that cannot succeed whatever the answer is,
 * because it also gives `force-share`. blockdev-reopen checks, in this order (block.c
 * bdrv_reopen_prepare): the generic and driver options, "backing is missing", then the backing
 * link, where a frozen one fails with "Cannot change frozen 'backing' link from 'PARENT' to
 * 'CHILD'" before anything changes; only after every link does it compare the remaining options
 * with the node's, and `force-share`, given in any form, never compares equal to what the node was
 * opened with ("Cannot change the option 'force-share'"). So the reply is the frozen-link error
 * when the link is frozen, that option error when it is not, and the transaction is rolled back
 * either way.
 *
 * The probe sends the node's options as a `reopen` would (its tracked options, its children named
 * by their current node names, its current read-only flag), so that the checks before the link pass.
 * When one of them fails anyway (the node's driver cannot be reopened, or its backing child is a
 * job's implicit filter) the expectation fails saying so: the probe could not tell. Like every
 * reopen it drains the node, which a running job notices (it pauses and resumes); nothing in the
 * graph changes. When the link is not frozen, QEMU detaches and re-attaches CHILD while it rolls
 * back, which makes that edge CHILD's newest parent; the expectation has failed by then.
 */
import type { EdgeSpec } from "../../language/ast.js";
import { childOptions } from "../../qapi/blockdev-schema.js";
import type { StepContext } from "../context.js";
import { StepError } from "../errors.js";
import { findRef, namedNodes, normalizeMessage, type GraphState } from "../graph-state.js";

/** Why the link is not known to be frozen, or undefined when it is. */
export async function checkFrozen(ctx: StepContext, state: GraphState, spec: EdgeSpec): Promise<string | undefined> {
  if (spec.parent.type !== "noderef") throw new StepError("an export's link is never frozen: name a node", spec.parent.location);
  const want = `${spec.parent.text} -${spec.name.name}-> ${spec.child.text}`;
  const parent = findRef(state, spec.parent);
  const child = findRef(state, spec.child);
  if (!parent) return `expected frozen edge ${want}, but node '${spec.parent.text}' does not exist`;
  if (!child) return `expected frozen edge ${want}, but node '${spec.child.text}' does not exist`;
  const link = state.graph.edges.find((e) => e.parent === parent.id && e.name === spec.name.name);
  if (!link) return `expected frozen edge ${want}, but '${spec.parent.text}' has no ${spec.name.name} child`;
  if (link.child !== child.id) return `expected frozen edge ${want}, but the ${spec.name.name} child of '${spec.parent.text}' is ${state.labels.get(link.child)}`;

  const options = await probeOptions(ctx, state, parent.id, parent.name);
  const reply = await ctx.engine.qmp("blockdev-reopen", { options: [options] });
  if (!("error" in reply)) {
    throw new StepError(`the reopen that looks for a frozen link succeeded; '${spec.parent.text}' has lost its backing child`, spec.location);
  }
  if (reply.error.desc === `Cannot change frozen '${spec.name.name}' link from '${parent.name}' to '${child.name}'`) return undefined;
  if (reply.error.desc.startsWith("Cannot change the option ")) return `expected ${want} to be frozen, but it is not`;
  return `cannot tell whether ${want} is frozen: the reopen that looks was refused first: ${await normalizeMessage(ctx, reply.error.desc)}`;
}

/** The options of the probe: as a reopen of the node would send them, its backing dropped, force-share given. */
async function probeOptions(ctx: StepContext, state: GraphState, id: number, name: string): Promise<Record<string, unknown>> {
  const info = (await namedNodes(ctx)).find((n) => n.name === name);
  const options: Record<string, unknown> = ctx.tracker.get(name) ?? { driver: info?.driver, "node-name": name };
  const driver = String(options.driver);
  // Each child by its current name: a reference to the current child changes nothing, even where
  // the tracked options hold an inline child that a job has since replaced.
  const children = childOptions(driver);
  for (const e of state.graph.edges) {
    if (e.parent === id && children.includes(e.name)) options[e.name] = state.graph.nodes.get(e.child)!.name;
  }
  options.backing = null;
  options["read-only"] = info?.readOnly ?? false;
  options["force-share"] ??= false;
  return options;
}
