/**
 * `show nodes` and `show node NAME`.
 *
 * ```
 * f0           file   rw  filename=$TEST_DIR/raw.img
 * top          qcow2  rw  backing=top/backing file=top/file
 * top/backing  qcow2  ro  file=top/backing/file
 * ```
 *
 * `show node top/backing`:
 * ```
 * top/backing: qcow2, read-only
 *   parent top -backing->  perm=[]  shared=[consistent-read, write, write-unchanged, resize]
 *   child -file-> top/backing/file  perm=[consistent-read]  shared=[consistent-read, write-unchanged]
 * ```
 *
 * Only protocol (`file`) nodes show a filename: for format nodes QEMU derives it in ways (json:
 * pseudo-filenames) that are not part of what a scenario tests.
 */
import { findDriverNode, type BlockGraph, type GraphNode } from "../graph-view/block-graph.js";
import type { NamedNodeInfo } from "../graph-view/named-nodes.js";
import { formatPerms } from "./perms.js";

export interface NodeView {
  graph: BlockGraph;
  labels: Map<number, string>;
  nodes: NamedNodeInfo[];
  /** Rewrites absolute scratch paths to `$TEST_DIR`. */
  normalize: (text: string) => string;
}

/** The lines of `show nodes`, sorted by label. */
export function renderNodes(view: NodeView): string[] {
  const rows = view.nodes
    .map((info) => {
      const node = findDriverNode(view.graph, info.name);
      const label = node ? view.labels.get(node.id)! : info.name;
      return { label, info, node };
    })
    .sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  const w0 = Math.max(0, ...rows.map((r) => r.label.length));
  const w1 = Math.max(0, ...rows.map((r) => r.info.driver.length));
  const lines = rows.map((r) => {
    const extra = [...(r.info.driver === "file" ? [`filename=${view.normalize(r.info.filename)}`] : [])];
    if (r.node) extra.push(...childList(view, r.node));
    const mode = r.info.readOnly ? "ro" : "rw";
    return `${r.label.padEnd(w0)}  ${r.info.driver.padEnd(w1)}  ${mode}${extra.length ? "  " + extra.join(" ") : ""}`;
  });
  return lines.length > 0 ? lines : ["(no nodes)"];
}

/** The lines of `show node`, for a node found in the graph. */
export function renderNode(view: NodeView, node: GraphNode): string[] {
  const label = view.labels.get(node.id)!;
  const info = view.nodes.find((n) => n.name === node.name);
  const head = info ? `${label}: ${info.driver}, ${info.readOnly ? "read-only" : "read-write"}` : `${label}:`;
  const lines = [head];
  if (info?.driver === "file") lines.push(`  filename ${view.normalize(info.filename)}`);
  const perms = (e: { perm: string[]; shared: string[] }) => `perm=${formatPerms(e.perm)}  shared=${formatPerms(e.shared)}`;
  const parents = view.graph.edges
    .filter((e) => e.child === node.id)
    .map((e) => `  parent ${view.labels.get(e.parent)} -${e.name}->  ${perms(e)}`)
    .sort();
  const children = view.graph.edges
    .filter((e) => e.parent === node.id)
    .map((e) => `  child -${e.name}-> ${view.labels.get(e.child)}  ${perms(e)}`)
    .sort();
  lines.push(...parents, ...children);
  return lines;
}

function childList(view: NodeView, node: GraphNode): string[] {
  return view.graph.edges
    .filter((e) => e.parent === node.id)
    .map((e) => `${e.name}=${view.labels.get(e.child)}`)
    .sort();
}
