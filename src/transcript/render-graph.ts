/**
 * `show graph`: one line per edge, aligned, then nodes that have no edge at all.
 *
 * ```
 * top -backing-> top/backing          perm=[]  shared=[consistent-read, write, write-unchanged, resize]
 * top -file-> top/file                perm=[consistent-read, write, resize]  shared=[consistent-read, write-unchanged]
 * export e0 -root-> top               perm=[consistent-read]  shared=[consistent-read, write, write-unchanged]
 * f1 (no edges)
 * ```
 *
 * Edges between block nodes come first, then BlockBackend (export) edges, then job edges; each group
 * sorted by (parent, edge name, child) label. Permissions are in QEMU's bit order.
 */
import type { BlockGraph, GraphEdge } from "../graph-view/block-graph.js";
import { formatPerms } from "./perms.js";

const GROUP = { "block-driver": 0, "block-backend": 1, "block-job": 2 } as const;

/** The lines of `show graph` (no indentation, no trailing newline). */
export function renderGraph(graph: BlockGraph, labels: Map<number, string>): string[] {
  const rows = graph.edges.map((e) => ({ edge: e, key: edgeKey(graph, labels, e) }));
  rows.sort((a, b) => compareKeys(a.key, b.key));
  const heads = rows.map((r) => `${r.key[1]} -${r.key[2]}-> ${r.key[3]}`);
  const width = Math.max(0, ...heads.map((h) => h.length));
  const lines = rows.map(
    (r, i) => `${heads[i]!.padEnd(width)}  perm=${formatPerms(r.edge.perm)}  shared=${formatPerms(r.edge.shared)}`,
  );
  const linked = new Set(graph.edges.flatMap((e) => [e.parent, e.child]));
  const lonely = [...graph.nodes.values()]
    .filter((n) => n.type === "block-driver" && !linked.has(n.id))
    .map((n) => labels.get(n.id)!)
    .sort();
  for (const name of lonely) lines.push(`${name} (no edges)`);
  if (lines.length === 0) lines.push("(empty graph)");
  return lines;
}

type EdgeKey = [number, string, string, string];

function edgeKey(graph: BlockGraph, labels: Map<number, string>, e: GraphEdge): EdgeKey {
  const parentType = graph.nodes.get(e.parent)!.type;
  return [GROUP[parentType], labels.get(e.parent)!, e.name, labels.get(e.child)!];
}

function compareKeys(a: EdgeKey, b: EdgeKey): number {
  return a[0] - b[0] || cmp(a[1], b[1]) || cmp(a[2], b[2]) || cmp(a[3], b[3]);
}

/** Code-unit order, not locale order: the same on every machine. */
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
