/**
 * What a picture of a block graph shows, independent of how it is drawn: every node under its
 * transcript label (a node-name, a node path such as `top/backing`, `export e0`), block nodes with
 * their driver and whether they are read-only, and every edge with its role (the child's name) and
 * the permissions the parent takes and shares, in QEMU's names and bit order.
 *
 * Nodes and edges are sorted by label, never by engine ids or creation order, so the same graph
 * gives the same picture on the model and on QEMU, run after run.
 */
import type { BlockGraph, GraphNodeType } from "../graph-view/block-graph.js";
import type { NamedNodeInfo } from "../graph-view/named-nodes.js";
import { sortPerms } from "../transcript/perms.js";

export interface PictureNode {
  /** The node's transcript label; unique within a picture. */
  label: string;
  kind: GraphNodeType;
  /** Block nodes: the driver (`qcow2`); undefined when query-named-block-nodes did not list the node. */
  driver?: string;
  /** Block nodes: read-only (`ro`) or read-write (`rw`); undefined as for `driver`. */
  readOnly?: boolean;
}

export interface PictureEdge {
  /** Labels of the two ends. */
  parent: string;
  child: string;
  /** The child's role name as QEMU gives it: file, backing, root, … */
  role: string;
  /** Permissions taken and shared, in QEMU's bit order. */
  perm: string[];
  shared: string[];
}

export interface GraphPicture {
  /** What the picture is of, e.g. the scenario's name (`reopen/detach-backing[fmt=raw]`). */
  title: string;
  nodes: PictureNode[];
  edges: PictureEdge[];
}

/** Block nodes first, then BlockBackends (exports), then jobs: the order `show graph` uses. */
const KIND_ORDER: Record<GraphNodeType, number> = { "block-driver": 0, "block-backend": 1, "block-job": 2 };

/**
 * The picture of `graph`, with `labels` from src/transcript/labels.ts and `named` from
 * query-named-block-nodes (flat), which is where driver and read-only come from.
 */
export function graphPicture(
  title: string,
  graph: BlockGraph,
  labels: ReadonlyMap<number, string>,
  named: readonly NamedNodeInfo[],
): GraphPicture {
  const info = new Map(named.map((n) => [n.name, n]));
  const unique = distinctLabels(graph, labels);
  const label = (id: number) => unique.get(id)!;
  const nodes: PictureNode[] = [...graph.nodes.values()].map((n) => {
    const i = n.type === "block-driver" ? info.get(n.name) : undefined;
    return { label: label(n.id), kind: n.type, ...(i ? { driver: i.driver, readOnly: i.readOnly } : {}) };
  });
  nodes.sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || cmp(a.label, b.label));
  const kindOf = (id: number) => KIND_ORDER[graph.nodes.get(id)!.type];
  const edges = graph.edges
    .map((e) => ({
      group: kindOf(e.parent),
      edge: { parent: label(e.parent), child: label(e.child), role: e.name, perm: sortPerms(e.perm), shared: sortPerms(e.shared) },
    }))
    .sort((a, b) => a.group - b.group || cmp(a.edge.parent, b.edge.parent) || cmp(a.edge.role, b.edge.role) || cmp(a.edge.child, b.edge.child))
    .map((x) => x.edge);
  return { title, nodes, edges };
}

/**
 * A label per node, unique within the picture: DOT names a node by its label, so two nodes labelled
 * alike (`(implicit)`, `unnamed BB`) would be drawn as one. Those get ` (1)`, ` (2)`, … in the order
 * of their edges (roles, the labels at their other ends, permissions), never of engine ids, so both
 * engines number them alike.
 */
function distinctLabels(graph: BlockGraph, labels: ReadonlyMap<number, string>): Map<number, string> {
  const base = (id: number) => labels.get(id) ?? "(unlabelled)";
  const byLabel = new Map<string, number[]>();
  for (const id of graph.nodes.keys()) byLabel.set(base(id), [...(byLabel.get(base(id)) ?? []), id]);
  const out = new Map<number, string>();
  for (const [text, ids] of byLabel) {
    if (ids.length === 1) {
      out.set(ids[0]!, text);
      continue;
    }
    const signature = (id: number) =>
      graph.edges
        .filter((e) => e.parent === id || e.child === id)
        .map((e) => `${e.parent === id ? ">" : "<"} ${e.name} ${base(e.parent === id ? e.child : e.parent)} ${sortPerms(e.perm)} ${sortPerms(e.shared)}`)
        .sort(cmp)
        .join("\n");
    ids
      .map((id) => ({ id, sig: signature(id) }))
      .sort((a, b) => cmp(a.sig, b.sig))
      .forEach((x, i) => out.set(x.id, `${text} (${i + 1})`));
  }
  return out;
}

/** Code-unit order, not locale order: the same on every machine. */
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
