/**
 * `show graph`, `show nodes`, `show node NAME`: normalized state into the transcript.
 * `show node NAME KEY…` shows those members of the node's query-named-block-nodes entry instead, one
 * `KEY=VALUE` line each, as `expect node` takes them; an object or list laid out as reply JSON is.
 * With `run --pictures`, `show graph [NAME]` also draws the graph (show-picture.ts).
 */
import type { Identifier, ShowStatement } from "../../language/ast.js";
import { propertyValue } from "../../language/node-properties.js";
import { writeScalar } from "../../language/property-values.js";
import { layoutJson, mapStrings } from "../../transcript/json-layout.js";
import { renderGraph } from "../../transcript/render-graph.js";
import { renderNode, renderNodes } from "../../transcript/render-nodes.js";
import { stepFailure, type StepContext } from "../context.js";
import { findRef, graphState, namedNodes, type GraphState } from "../graph-state.js";
import { nodeEntry, propertyFor } from "./node-entry.js";
import { drawShownGraph } from "./show-picture.js";
import type { StepResult } from "./step.js";

export async function showStep(ctx: StepContext, stmt: ShowStatement): Promise<StepResult> {
  const state = await graphState(ctx);
  if (stmt.what === "graph") {
    await drawShownGraph(ctx, stmt, state);
    return { blocks: [{ step: stmt.text, output: renderGraph(state.graph, state.labels) }], failures: [] };
  }
  const view = { ...state, nodes: await namedNodes(ctx) };
  if (stmt.what === "nodes") return { blocks: [{ step: stmt.text, output: renderNodes(view) }], failures: [] };
  const node = stmt.node ? findRef(state, stmt.node) : undefined;
  if (!node) {
    const msg = `no node '${stmt.node?.text ?? ""}'`;
    return { blocks: [{ step: stmt.text, output: [`error: ${msg}`] }], failures: [stepFailure(ctx, stmt, "expectation", msg)] };
  }
  if (stmt.properties) return { blocks: [{ step: stmt.text, output: await propertyLines(ctx, state, stmt, stmt.properties) }], failures: [] };
  return { blocks: [{ step: stmt.text, output: renderNode(view, node) }], failures: [] };
}

async function propertyLines(ctx: StepContext, state: GraphState, stmt: ShowStatement, keys: readonly Identifier[]): Promise<string[]> {
  const properties = keys.map((k) => propertyFor(k.name, k.location));
  const found = await nodeEntry(ctx, state, stmt.node!);
  // The graph listed the node a moment ago; query-named-block-nodes lists every node it does.
  if (!found) return [`error: node '${stmt.node!.text}' is not in query-named-block-nodes`];
  return properties.map((p, i) => {
    const value = mapStrings(propertyValue(found.entry, p), state.normalize);
    const key = `${keys[i]!.name}=`;
    return value !== null && typeof value === "object" ? key + layoutJson(value, key.length) : key + writeScalar(value);
  });
}
