/**
 * The block graph as x-debug-query-block-graph reports it, checked and put into plain maps that keep
 * QEMU's output order. Ids are only meaningful within one reply; nothing here survives into a
 * transcript or a comparison except through node paths (node-paths.ts).
 */
import { GraphReplyError } from "./errors.js";

export type GraphNodeType = "block-driver" | "block-backend" | "block-job";

export interface GraphNode {
  id: number;
  type: GraphNodeType;
  /** Node name (`#block123` for implicit nodes), job id, or BlockBackend name ("" for exports). */
  name: string;
}

export interface GraphEdge {
  parent: number;
  child: number;
  /** The child's role name as QEMU gives it: file, backing, image, root, "intermediate node", … */
  name: string;
  perm: string[];
  shared: string[];
}

export interface BlockGraph {
  /** By id, in output order. */
  nodes: Map<number, GraphNode>;
  /** In output order. */
  edges: GraphEdge[];
}

const NODE_TYPES: readonly string[] = ["block-driver", "block-backend", "block-job"];

/** Parse the `return` value of x-debug-query-block-graph. */
export function parseBlockGraph(value: unknown): BlockGraph {
  const obj = value as { nodes?: unknown; edges?: unknown } | null;
  if (!obj || !Array.isArray(obj.nodes) || !Array.isArray(obj.edges)) {
    throw new GraphReplyError("x-debug-query-block-graph returned no nodes/edges arrays");
  }
  const nodes = new Map<number, GraphNode>();
  for (const n of obj.nodes as Record<string, unknown>[]) {
    if (typeof n?.id !== "number" || typeof n.name !== "string" || !NODE_TYPES.includes(n.type as string)) {
      throw new GraphReplyError(`x-debug-query-block-graph: malformed node ${JSON.stringify(n)}`);
    }
    nodes.set(n.id, { id: n.id, type: n.type as GraphNodeType, name: n.name });
  }
  const edges: GraphEdge[] = [];
  for (const e of obj.edges as Record<string, unknown>[]) {
    const ok =
      typeof e?.parent === "number" &&
      typeof e.child === "number" &&
      typeof e.name === "string" &&
      Array.isArray(e.perm) &&
      Array.isArray(e["shared-perm"]) &&
      nodes.has(e.parent) &&
      nodes.has(e.child);
    if (!ok) throw new GraphReplyError(`x-debug-query-block-graph: malformed edge ${JSON.stringify(e)}`);
    edges.push({
      parent: e.parent as number,
      child: e.child as number,
      name: e.name as string,
      perm: (e.perm as unknown[]).map(String),
      shared: (e["shared-perm"] as unknown[]).map(String),
    });
  }
  return { nodes, edges };
}

/** The block-driver node with this node-name. */
export function findDriverNode(graph: BlockGraph, name: string): GraphNode | undefined {
  for (const n of graph.nodes.values()) if (n.type === "block-driver" && n.name === name) return n;
  return undefined;
}

/** How far a node path got: to a node, or to the step that is missing (`at` undefined: no such root). */
export type PathWalk = { node: GraphNode } | { missing: string; at?: GraphNode };

/** Follow child edges by name from the block-driver node named `root`. */
export function walkNodePath(graph: BlockGraph, root: string, edges: readonly string[]): PathWalk {
  let node = findDriverNode(graph, root);
  if (!node) return { missing: root };
  for (const step of edges) {
    const from: GraphNode = node;
    const edge = graph.edges.find((e) => e.parent === from.id && e.name === step);
    node = edge ? graph.nodes.get(edge.child) : undefined;
    if (!node) return { missing: step, at: from };
  }
  return { node };
}

/** The node at the end of a path from the node named `root`; undefined when any step is missing. */
export function resolveNodePath(graph: BlockGraph, root: string, edges: readonly string[]): GraphNode | undefined {
  const walk = walkNodePath(graph, root, edges);
  return "node" in walk ? walk.node : undefined;
}
