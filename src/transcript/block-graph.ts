/**
 * The block graph as x-debug-query-block-graph reports it, checked and put into plain maps. Ids are
 * only meaningful within one reply; nothing here survives into a transcript except through labels.
 */
import { TranscriptError } from "./errors.js";

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
  nodes: Map<number, GraphNode>;
  edges: GraphEdge[];
}

const NODE_TYPES: readonly string[] = ["block-driver", "block-backend", "block-job"];

/** Parse the `return` value of x-debug-query-block-graph. */
export function parseBlockGraph(value: unknown): BlockGraph {
  const obj = value as { nodes?: unknown; edges?: unknown } | null;
  if (!obj || !Array.isArray(obj.nodes) || !Array.isArray(obj.edges)) {
    throw new TranscriptError("x-debug-query-block-graph returned no nodes/edges arrays");
  }
  const nodes = new Map<number, GraphNode>();
  for (const n of obj.nodes as Record<string, unknown>[]) {
    if (typeof n?.id !== "number" || typeof n.name !== "string" || !NODE_TYPES.includes(n.type as string)) {
      throw new TranscriptError(`x-debug-query-block-graph: malformed node ${JSON.stringify(n)}`);
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
    if (!ok) throw new TranscriptError(`x-debug-query-block-graph: malformed edge ${JSON.stringify(e)}`);
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

/** Whether a block-driver name is one QEMU made up (`#block123`) rather than one a user gave. */
export function isImplicitName(name: string): boolean {
  return name === "" || name.startsWith("#");
}

/** The block-driver node with this node-name. */
export function findDriverNode(graph: BlockGraph, name: string): GraphNode | undefined {
  for (const n of graph.nodes.values()) if (n.type === "block-driver" && n.name === name) return n;
  return undefined;
}

/** Follow child edges by name from the node named `root`; undefined when any step is missing. */
export function resolveNodePath(graph: BlockGraph, root: string, path: readonly string[]): GraphNode | undefined {
  let node = findDriverNode(graph, root);
  for (const step of path) {
    if (!node) return undefined;
    const from: GraphNode = node;
    const edge = graph.edges.find((e) => e.parent === from.id && e.name === step);
    node = edge ? graph.nodes.get(edge.child) : undefined;
  }
  return node;
}
