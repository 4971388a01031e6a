/**
 * Naming block nodes by path, so that what is shown or compared depends only on the graph's shape,
 * never on QEMU's random auto names, on node ids or on the order either engine created things in:
 *
 * - a node with a user-given node-name is named by it;
 * - an auto-named node is named by its shortest path from a named node, `top/backing/file`. When
 *   several paths are equally short, the nodes are named breadth-first and each takes the smallest
 *   `parent-path/edge` (in code-unit order) among its parents one level up: for a node that is both
 *   `b/file` and `a/image`, `a/image`;
 * - an auto-named node with no path from a named node (kept alive only by an export or a job) gets
 *   none here; a caller may go on from those parents with extendPaths.
 *
 * Transcripts, the runner and the differential test all name nodes through this one rule.
 */
import { isAutoName } from "./auto-name.js";
import type { BlockGraph, GraphNode } from "./block-graph.js";

/** A block-driver node whose name a user gave. */
export function isNamedDriver(node: GraphNode): boolean {
  return node.type === "block-driver" && node.name !== "" && !isAutoName(node.name);
}

/** Node id → path for every named node and every node reachable from one. */
export function pathsFromNamedNodes(graph: BlockGraph): Map<number, string> {
  const paths = new Map<number, string>();
  for (const n of graph.nodes.values()) if (isNamedDriver(n)) paths.set(n.id, n.name);
  extendPaths(graph, paths, [...paths.keys()]);
  return paths;
}

/**
 * Breadth-first from `start`: each child without a path gets the smallest `parent/edge` at its
 * depth, by `before` (code-unit order unless given).
 */
export function extendPaths(
  graph: BlockGraph,
  paths: Map<number, string>,
  start: Iterable<number>,
  before: (a: string, b: string) => boolean = (a, b) => a < b,
): void {
  let frontier = new Set(start);
  while (frontier.size > 0) {
    const candidates = new Map<number, string>();
    for (const e of graph.edges) {
      if (!frontier.has(e.parent) || paths.has(e.child)) continue;
      const path = `${paths.get(e.parent)}/${e.name}`;
      const best = candidates.get(e.child);
      if (best === undefined || before(path, best)) candidates.set(e.child, path);
    }
    for (const [id, path] of candidates) paths.set(id, path);
    frontier = new Set(candidates.keys());
  }
}

/** `top/backing/file` → the root node-name and the child edges to follow from it. */
export function splitNodePath(path: string): { root: string; edges: string[] } {
  const [root, ...edges] = path.split("/");
  return { root: root!, edges };
}
