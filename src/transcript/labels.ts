/**
 * Stable, engine-neutral names for every node of a block graph.
 *
 * - a node with a user-given node-name keeps it;
 * - an implicit node (`#block123`) is named by its path from a named node: `top/backing/file`. Among
 *   all paths of minimal length the lexicographically smallest wins, so the rule depends only on the
 *   graph's shape, never on QEMU's random auto names or either engine's creation order;
 * - an export's BlockBackend is `export ID`, a job is `job ID`, any other BlockBackend `unnamed BB`;
 * - an implicit node reachable only from a BlockBackend or job gets that parent's label as the root.
 */
import { isImplicitName, type BlockGraph, type GraphNode } from "./block-graph.js";

/** An export the runner created: its id and the node-name it was created on. */
export interface ExportRef {
  id: string;
  nodeName: string;
}

/** Labels for every node id of the graph. */
export function labelGraph(graph: BlockGraph, exports: readonly ExportRef[] = []): Map<number, string> {
  const labels = new Map<number, string>();
  for (const n of graph.nodes.values()) {
    if (n.type === "block-driver" && !isImplicitName(n.name)) labels.set(n.id, n.name);
    if (n.type === "block-job") labels.set(n.id, `job ${n.name}`);
  }
  labelBackends(graph, exports, labels);
  const isNamedDriver = (n: GraphNode) => n.type === "block-driver" && labels.has(n.id);
  spreadAlongEdges(graph, labels, [...graph.nodes.values()].filter(isNamedDriver).map((n) => n.id));
  spreadAlongEdges(
    graph,
    labels,
    [...graph.nodes.values()].filter((n) => n.type !== "block-driver").map((n) => n.id),
  );
  for (const n of graph.nodes.values()) if (!labels.has(n.id)) labels.set(n.id, "(implicit)");
  return labels;
}

/** Exports are anonymous BlockBackends: match them to the runner's exports by the node they sit on. */
function labelBackends(graph: BlockGraph, exports: readonly ExportRef[], labels: Map<number, string>): void {
  const backends = [...graph.nodes.values()].filter((n) => n.type === "block-backend").sort((a, b) => a.id - b.id);
  const unclaimed = [...exports];
  for (const bb of backends) {
    const root = graph.edges.find((e) => e.parent === bb.id);
    const child = root ? graph.nodes.get(root.child) : undefined;
    const i = child ? unclaimed.findIndex((x) => x.nodeName === child.name) : -1;
    if (i >= 0) {
      labels.set(bb.id, `export ${unclaimed[i]!.id}`);
      unclaimed.splice(i, 1);
    } else {
      labels.set(bb.id, bb.name ? `BB ${bb.name}` : "unnamed BB");
    }
  }
}

/** Breadth-first from `start`: each unlabelled child gets the smallest `parent/edge` at its depth. */
function spreadAlongEdges(graph: BlockGraph, labels: Map<number, string>, start: number[]): void {
  let frontier = new Set(start);
  while (frontier.size > 0) {
    const candidates = new Map<number, string>();
    for (const e of graph.edges) {
      if (!frontier.has(e.parent) || labels.has(e.child)) continue;
      const label = `${labels.get(e.parent)}/${e.name}`;
      const best = candidates.get(e.child);
      if (best === undefined || label < best) candidates.set(e.child, label);
    }
    for (const [id, label] of candidates) labels.set(id, label);
    frontier = new Set(candidates.keys());
  }
}

/** node-name → label for implicit block-driver nodes, to rewrite `#block123` inside messages. */
export function implicitNameMap(graph: BlockGraph, labels: Map<number, string>): Map<string, string> {
  const map = new Map<string, string>();
  for (const n of graph.nodes.values()) {
    if (n.type === "block-driver" && isImplicitName(n.name) && n.name !== "") map.set(n.name, labels.get(n.id)!);
  }
  return map;
}
