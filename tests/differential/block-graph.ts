/**
 * The generator's view of `x-debug-query-block-graph`, by node name: look nodes up, follow paths
 * such as `q0/backing/file`, and name an auto-named node by its path from a named node. Parsing and
 * the path rule are the ones transcripts use (src/graph-view), so the oracle refers to a node exactly
 * as a scenario would.
 */
import { isAutoName } from "../../src/graph-view/auto-name.js";
import { parseBlockGraph, walkNodePath, type BlockGraph as ParsedGraph, type GraphEdge, type GraphNode } from "../../src/graph-view/block-graph.js";
import { pathsFromNamedNodes, splitNodePath } from "../../src/graph-view/node-paths.js";
import { BlockcheckError } from "../../src/errors.js";
import type { Engine } from "../../src/engines/engine.js";

export type { GraphEdge, GraphNode };

/** A path did not lead to a node, or a query failed. */
export class NodePathError extends BlockcheckError {
  constructor(message: string) {
    super("E_NODE_PATH", message);
  }
}

export class BlockGraph {
  private readonly paths: Map<number, string>;

  private constructor(private readonly graph: ParsedGraph) {
    this.paths = pathsFromNamedNodes(graph);
  }

  /** Parse the `return` value of x-debug-query-block-graph. */
  static from(ret: unknown): BlockGraph {
    return new BlockGraph(parseBlockGraph(ret));
  }

  /** Query the engine's current graph. */
  static async query(engine: Engine): Promise<BlockGraph> {
    const reply = await engine.qmp("x-debug-query-block-graph");
    if (!("return" in reply)) throw new NodePathError(`x-debug-query-block-graph failed: ${reply.error.desc}`);
    return BlockGraph.from(reply.return);
  }

  node(id: number): GraphNode | undefined {
    return this.graph.nodes.get(id);
  }

  /** The block-driver node with this name. */
  driverNode(name: string): GraphNode | undefined {
    for (const n of this.graph.nodes.values()) if (n.type === "block-driver" && n.name === name) return n;
    return undefined;
  }

  /** Names of all block-driver nodes, in output order. */
  driverNames(): string[] {
    return [...this.graph.nodes.values()].filter((n) => n.type === "block-driver").map((n) => n.name);
  }

  /** Edges out of a node, in output order. */
  childEdges(name: string): GraphEdge[] {
    const n = this.driverNode(name);
    return n ? this.graph.edges.filter((e) => e.parent === n.id) : [];
  }

  /** The child named `edge` of node `name`, if any. */
  child(name: string, edge: string): string | undefined {
    const e = this.childEdges(name).find((x) => x.name === edge);
    return e ? this.node(e.child)?.name : undefined;
  }

  /** All nodes reachable from `name` through child edges (not including `name` unless in a cycle). */
  descendants(name: string): Set<string> {
    const seen = new Set<string>();
    const stack = [name];
    while (stack.length > 0) {
      for (const e of this.childEdges(stack.pop()!)) {
        const c = this.node(e.child)?.name;
        if (c !== undefined && !seen.has(c)) {
          seen.add(c);
          stack.push(c);
        }
      }
    }
    return seen;
  }

  /**
   * Whether some node below `name` is reached through two edges (a qcow2 whose file is also its
   * backing, a copy-before-write whose target sits on its own file, …): QEMU 7.2's subtree drains
   * miscount on such shapes when a reopen moves a link into or out of them.
   */
  hasDiamondBelow(name: string): boolean {
    const within = new Set([name, ...this.descendants(name)]);
    const reached = new Set<number>();
    for (const n of within) {
      for (const e of this.childEdges(n)) {
        if (reached.has(e.child)) return true;
        reached.add(e.child);
      }
    }
    return false;
  }

  /**
   * Nodes a command can name: named ones and auto-named ones with a path from a named node. (An
   * auto-named node kept alive only by an export has no such path.)
   */
  referableNames(): string[] {
    return [...this.graph.nodes.values()].filter((n) => n.type === "block-driver" && this.paths.has(n.id)).map((n) => n.name);
  }

  /** Follow `a/b/c`: start at named node `a`, then the child edges `b` and `c`. */
  resolve(path: string): string {
    const { root, edges } = splitNodePath(path);
    const walk = walkNodePath(this.graph, root, edges);
    if ("node" in walk) return walk.node.name;
    if (!walk.at) throw new NodePathError(`no node named '${root}' (in path '${path}')`);
    throw new NodePathError(`node '${walk.at.name}' has no '${walk.missing}' child (in path '${path}')`);
  }

  /** The node's path from a named node (the node itself if it is named), as transcripts name it. */
  pathOf(name: string): string {
    if (!isAutoName(name)) return name;
    const node = this.driverNode(name);
    const path = node && this.paths.get(node.id);
    if (path === undefined) throw new NodePathError(`auto-named node '${name}' has no path from a named node`);
    return path;
  }
}
