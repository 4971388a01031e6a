/**
 * The engine's current block graph, queried through QMP and labelled for transcripts. Node paths
 * (`top/backing/file`) resolve here: the root node by name, then child edges by name.
 */
import { BlockcheckError } from "../errors.js";
import type { NodeRef } from "../language/ast.js";
import { mentionsAutoName } from "../graph-view/auto-name.js";
import { parseBlockGraph, resolveNodePath, type BlockGraph, type GraphNode } from "../graph-view/block-graph.js";
import { parseNamedNodes, type NamedNodeInfo } from "../graph-view/named-nodes.js";
import { implicitNameMap, labelGraph, type ExportRef } from "../transcript/labels.js";
import { normalizeText } from "../transcript/normalize.js";
import type { StepContext } from "./context.js";
import { StepError } from "./errors.js";

/** The graph with labels and a text normalizer bound to it. */
export interface GraphState {
  graph: BlockGraph;
  labels: Map<number, string>;
  /** `$TEST_DIR` and implicit-name normalization for text produced while this graph stood. */
  normalize: (text: string) => string;
}

/** Send a query whose failure means the engine is broken, not that the scenario failed. */
export async function query(ctx: StepContext, command: string, args?: Record<string, unknown>): Promise<unknown> {
  const reply = await ctx.engine.qmp(command, args);
  if ("error" in reply) {
    throw new BlockcheckError("E_ENGINE_QUERY", `${command} failed on the ${ctx.engine.kind} engine: ${reply.error.desc}`);
  }
  return reply.return;
}

/** Query and label the current graph. */
export async function graphState(ctx: StepContext): Promise<GraphState> {
  const graph = parseBlockGraph(await query(ctx, "x-debug-query-block-graph"));
  const labels = labelGraph(graph, await exportsNow(ctx));
  const implicitNames = implicitNameMap(graph, labels);
  return { graph, labels, normalize: (t) => normalizeText(t, { scratchDirs: ctx.scratchDirs, implicitNames }) };
}

/**
 * The runner's exports with the node each sits on now: a job or a graph change can move an
 * export's BlockBackend to another node (mirror's completion replaces its source), and the label
 * must follow it. Asked only when there is an export to label.
 */
async function exportsNow(ctx: StepContext): Promise<ExportRef[]> {
  if (ctx.exports.length === 0) return ctx.exports;
  const infos = (await query(ctx, "query-block-exports")) as { id: string; "node-name": string }[];
  const nodeOf = new Map(infos.map((info) => [info.id, info["node-name"]]));
  return ctx.exports.map((e) => ({ id: e.id, nodeName: nodeOf.get(e.id) ?? e.nodeName }));
}

/** query-named-block-nodes (flat). */
export async function namedNodes(ctx: StepContext): Promise<NamedNodeInfo[]> {
  return parseNamedNodes(await query(ctx, "query-named-block-nodes", { flat: true }));
}

/** Normalize text that mentions no implicit nodes (or when the graph is not needed). */
export function normalizePlain(ctx: StepContext, text: string): string {
  return normalizeText(text, { scratchDirs: ctx.scratchDirs });
}

/** Normalize an engine message; queries the graph only when the text names an auto-named node. */
export async function normalizeMessage(ctx: StepContext, text: string): Promise<string> {
  return mentionsAutoName(text) ? (await graphState(ctx)).normalize(text) : normalizePlain(ctx, text);
}

/** The graph node a reference names now, or undefined. */
export function findRef(state: GraphState, ref: NodeRef): GraphNode | undefined {
  return resolveNodePath(state.graph, ref.root, ref.path);
}

/**
 * The node-name to send for a reference: a plain name as written (QEMU reports unknown names itself);
 * a path resolved to the node's current (possibly auto) name, or a located error when it does not resolve.
 */
export async function nodeNameFor(ctx: StepContext, ref: NodeRef): Promise<string> {
  if (ref.path.length === 0) return ref.root;
  const node = findRef(await graphState(ctx), ref);
  if (!node) throw new StepError(`node path '${ref.text}' does not lead to a node`, ref.location);
  return node.name;
}
