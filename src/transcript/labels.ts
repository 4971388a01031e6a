/**
 * Stable, engine-neutral names for every node of a block graph, as transcripts print them.
 *
 * - block-driver nodes are named by path (src/graph-view/node-paths.ts): a user-given node-name
 *   as it is, an implicit node by its path from a named node, `top/backing/file`;
 * - an export's BlockBackend is `export ID` (on whichever node it sits now), a job is `job ID`, any
 *   other BlockBackend `unnamed BB`;
 * - an implicit node reachable only from a BlockBackend or job gets that parent's label as the root,
 *   a job's first.
 */
import { isAutoName } from "../graph-view/auto-name.js";
import type { BlockGraph, GraphEdge } from "../graph-view/block-graph.js";
import { extendPaths, pathsFromNamedNodes } from "../graph-view/node-paths.js";

/** An export the runner created: its id and the node-name it was created on. */
export interface ExportRef {
  id: string;
  nodeName: string;
}

/** Labels for every node id of the graph. */
export function labelGraph(graph: BlockGraph, exports: readonly ExportRef[] = []): Map<number, string> {
  const labels = pathsFromNamedNodes(graph);
  for (const n of graph.nodes.values()) if (n.type === "block-job") labels.set(n.id, `job ${n.name}`);
  labelBackends(graph, exports, labels);
  extendPaths(
    graph,
    labels,
    [...graph.nodes.values()].filter((n) => n.type !== "block-driver").map((n) => n.id),
    jobPathFirst,
  );
  for (const n of graph.nodes.values()) if (!labels.has(n.id)) labels.set(n.id, "(implicit)");
  return labels;
}

/**
 * A node that both a job and a BlockBackend reach at the same depth is named from the job: the
 * filter a mirror or commit inserts is the job's node, even when the export it moved is above it.
 */
function jobPathFirst(a: string, b: string): boolean {
  const aJob = a.startsWith("job ");
  return aJob !== b.startsWith("job ") ? aJob : a < b;
}

/**
 * Exports are anonymous BlockBackends: match them to the runner's exports by the node they sit on.
 * Block jobs have anonymous BlockBackends too (commit's on its base, mirror's on its target), which
 * may sit on the same node as an export and come first: a BlockBackend whose permissions an NBD
 * export never has is not taken for one (nbd_export_create: consistent-read, plus write when
 * writable; every permission shared but resize).
 */
function labelBackends(graph: BlockGraph, exports: readonly ExportRef[], labels: Map<number, string>): void {
  const backends = [...graph.nodes.values()].filter((n) => n.type === "block-backend").sort((a, b) => a.id - b.id);
  const unclaimed = [...exports];
  for (const bb of backends) {
    const root = graph.edges.find((e) => e.parent === bb.id);
    const child = root && couldBeExport(root) ? graph.nodes.get(root.child) : undefined;
    const i = child ? unclaimed.findIndex((x) => x.nodeName === child.name) : -1;
    if (i >= 0) {
      labels.set(bb.id, `export ${unclaimed[i]!.id}`);
      unclaimed.splice(i, 1);
    } else {
      labels.set(bb.id, bb.name ? `BB ${bb.name}` : "unnamed BB");
    }
  }
}

/**
 * Whether a BlockBackend's root edge has an NBD export's permissions: it takes consistent-read (and
 * maybe write), nothing else, and shares write but not resize. A job's own BlockBackends differ:
 * commit's on its base does not share write, its top and mirror's target do not read.
 */
function couldBeExport(root: GraphEdge): boolean {
  const perm = new Set(root.perm);
  const shared = new Set(root.shared);
  const takes = perm.has("consistent-read") && [...perm].every((p) => p === "consistent-read" || p === "write");
  return takes && shared.has("write") && !shared.has("resize");
}

/** node-name → label for auto-named block-driver nodes, to rewrite `#block123` inside messages. */
export function implicitNameMap(graph: BlockGraph, labels: Map<number, string>): Map<string, string> {
  const map = new Map<string, string>();
  for (const n of graph.nodes.values()) {
    if (n.type === "block-driver" && isAutoName(n.name)) map.set(n.name, labels.get(n.id)!);
  }
  return map;
}
