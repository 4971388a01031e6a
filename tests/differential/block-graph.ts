/**
 * A read-only view of `x-debug-query-block-graph`: look nodes up by name, follow paths such as
 * `q0/backing/file`, and name an auto-named node by its path from a named node.
 */
import { BlockcheckError } from "../../src/errors.js";
import type { Engine } from "../../src/engines/engine.js";

export interface GraphNode {
  id: number;
  name: string;
  type: string;
}

export interface GraphEdge {
  name: string;
  parent: number;
  child: number;
  perm: string[];
  "shared-perm": string[];
}

/** A path did not lead to a node, or a query failed. */
export class NodePathError extends BlockcheckError {
  constructor(message: string) {
    super("E_NODE_PATH", message);
  }
}

/** True for QEMU's generated node names (`#block123`); users cannot create names starting with `#`. */
export function isAutoName(name: string): boolean {
  return name.startsWith("#");
}

export class BlockGraph {
  private readonly byId = new Map<number, GraphNode>();

  constructor(
    readonly nodes: GraphNode[],
    readonly edges: GraphEdge[],
  ) {
    for (const n of nodes) this.byId.set(n.id, n);
  }

  /** Parse the `return` value of x-debug-query-block-graph. */
  static from(ret: unknown): BlockGraph {
    const r = ret as { nodes?: GraphNode[]; edges?: GraphEdge[] };
    if (!Array.isArray(r?.nodes) || !Array.isArray(r?.edges)) throw new NodePathError("malformed x-debug-query-block-graph reply");
    return new BlockGraph(r.nodes, r.edges);
  }

  /** Query the engine's current graph. */
  static async query(engine: Engine): Promise<BlockGraph> {
    const reply = await engine.qmp("x-debug-query-block-graph");
    if (!("return" in reply)) throw new NodePathError(`x-debug-query-block-graph failed: ${reply.error.desc}`);
    return BlockGraph.from(reply.return);
  }

  node(id: number): GraphNode | undefined {
    return this.byId.get(id);
  }

  /** The block-driver node with this name. */
  driverNode(name: string): GraphNode | undefined {
    return this.nodes.find((n) => n.type === "block-driver" && n.name === name);
  }

  /** Names of all block-driver nodes, in output order. */
  driverNames(): string[] {
    return this.nodes.filter((n) => n.type === "block-driver").map((n) => n.name);
  }

  /** Edges out of a node, in output order. */
  childEdges(name: string): GraphEdge[] {
    const n = this.driverNode(name);
    return n ? this.edges.filter((e) => e.parent === n.id) : [];
  }

  /** Edges into a node, in output order. */
  parentEdges(name: string): GraphEdge[] {
    const n = this.driverNode(name);
    return n ? this.edges.filter((e) => e.child === n.id) : [];
  }

  /** The child named `edge` of node `name`, if any. */
  child(name: string, edge: string): string | undefined {
    const e = this.childEdges(name).find((x) => x.name === edge);
    return e ? this.byId.get(e.child)?.name : undefined;
  }

  /** All nodes reachable from `name` through child edges (not including `name` unless in a cycle). */
  descendants(name: string): Set<string> {
    const seen = new Set<string>();
    const stack = [name];
    while (stack.length > 0) {
      for (const e of this.childEdges(stack.pop()!)) {
        const c = this.byId.get(e.child)?.name;
        if (c !== undefined && !seen.has(c)) {
          seen.add(c);
          stack.push(c);
        }
      }
    }
    return seen;
  }

  /**
   * Nodes a command can name: named ones and auto-named ones with a path from a named node. (An
   * auto-named node kept alive only by an export has no such path.)
   */
  referableNames(): string[] {
    return this.driverNames().filter((n) => {
      try {
        this.pathOf(n);
        return true;
      } catch {
        return false;
      }
    });
  }

  /** Follow `a/b/c`: start at named node `a`, then the child edges `b` and `c`. */
  resolve(path: string): string {
    const [first, ...edges] = path.split("/");
    if (!first || !this.driverNode(first)) throw new NodePathError(`no node named '${first}' (in path '${path}')`);
    let at = first;
    for (const edge of edges) {
      const next = this.child(at, edge);
      if (next === undefined) throw new NodePathError(`node '${at}' has no '${edge}' child (in path '${path}')`);
      at = next;
    }
    return at;
  }

  /**
   * The shortest path to `name` from a named node (the node itself if it is named). Ties go to the
   * first parent edge in output order, so the same graph always gives the same path.
   */
  pathOf(name: string): string {
    if (!isAutoName(name)) return name;
    const seen = new Set<string>([name]);
    let frontier: Array<{ at: string; suffix: string }> = [{ at: name, suffix: "" }];
    while (frontier.length > 0) {
      const next: typeof frontier = [];
      for (const { at, suffix } of frontier) {
        for (const e of this.parentEdges(at)) {
          const p = this.byId.get(e.parent);
          if (!p || p.type !== "block-driver" || seen.has(p.name)) continue;
          const s = `/${e.name}${suffix}`;
          if (!isAutoName(p.name)) return p.name + s;
          seen.add(p.name);
          next.push({ at: p.name, suffix: s });
        }
      }
      frontier = next;
    }
    throw new NodePathError(`auto-named node '${name}' has no path from a named node`);
  }
}
