/**
 * A node's entry in query-named-block-nodes, for `expect node` and `show node NODE KEY…`: the keys
 * resolved against the reply's schema, the node found by the reference as the graph stands now.
 */
import type { Location, NodeRef } from "../../language/ast.js";
import { lookupProperty, type NodeProperty } from "../../language/node-properties.js";
import type { GraphNode } from "../../graph-view/block-graph.js";
import type { StepContext } from "../context.js";
import { StepError } from "../errors.js";
import { findRef, query, type GraphState } from "../graph-state.js";

/**
 * The property a key names. The checker reports bad keys first; this guards a scenario that was
 * not validated.
 */
export function propertyFor(key: string, at: Location): NodeProperty {
  const r = lookupProperty(key);
  if ("problem" in r) throw new StepError(`unknown node property '${key}'`, at);
  return r.property;
}

/**
 * The entry of the node `ref` names, or undefined when there is no such node. The reply is the full
 * one (no `flat`), as QEMU answers by default: only it has the backing chain (`image.backing-image`)
 * and counts `backing_file_depth`.
 */
export async function nodeEntry(
  ctx: StepContext,
  state: GraphState,
  ref: NodeRef,
): Promise<{ node: GraphNode; entry: Record<string, unknown> } | undefined> {
  const node = findRef(state, ref);
  if (!node) return undefined;
  const reply = await query(ctx, "query-named-block-nodes");
  const entry = Array.isArray(reply) ? reply.find((e: Record<string, unknown>) => e?.["node-name"] === node.name) : undefined;
  return entry ? { node, entry } : undefined;
}
