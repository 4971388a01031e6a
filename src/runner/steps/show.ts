/** `show graph`, `show nodes`, `show node NAME`: normalized state into the transcript. */
import type { ShowStatement } from "../../language/ast.js";
import { renderGraph } from "../../transcript/render-graph.js";
import { renderNode, renderNodes } from "../../transcript/render-nodes.js";
import { stepFailure, type StepContext } from "../context.js";
import { findRef, graphState, namedNodes } from "../graph-state.js";
import type { StepResult } from "./step.js";

export async function showStep(ctx: StepContext, stmt: ShowStatement): Promise<StepResult> {
  const state = await graphState(ctx);
  if (stmt.what === "graph") return { blocks: [{ step: stmt.text, output: renderGraph(state.graph, state.labels) }], failures: [] };
  const view = { ...state, nodes: await namedNodes(ctx) };
  if (stmt.what === "nodes") return { blocks: [{ step: stmt.text, output: renderNodes(view) }], failures: [] };
  const node = stmt.node ? findRef(state, stmt.node) : undefined;
  if (!node) {
    const msg = `no node '${stmt.node?.text ?? ""}'`;
    return { blocks: [{ step: stmt.text, output: [`error: ${msg}`] }], failures: [stepFailure(ctx, stmt, "expectation", msg)] };
  }
  return { blocks: [{ step: stmt.text, output: renderNode(view, node) }], failures: [] };
}
