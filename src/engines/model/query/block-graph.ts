/**
 * x-debug-query-block-graph (`bdrv_get_xdbg_block_graph`): BlockBackends, then block jobs (the job
 * list from its head, each with its edges newest first), then named nodes in graph_bdrv_states
 * order with their children newest-first; ids on first encounter; both arrays built by
 * prepending, so the output is the traversal reversed.
 */
import type { BdsNode, Child } from "../graph.js";
import { BlockJob } from "../jobs/block-job.js";
import type { LayerState } from "../layer-state.js";
import { permsToQapiList } from "../perms.js";

export function xdebugBlockGraph(state: LayerState): Record<string, unknown> {
  const ids = new Map<object, number>();
  const idOf = (o: object): number => {
    let id = ids.get(o);
    if (id === undefined) ids.set(o, (id = ids.size + 1));
    return id;
  };
  const nodes: Array<Record<string, unknown>> = [];
  const edges: Array<Record<string, unknown>> = [];
  const addEdge = (parentId: number, c: Child): void => {
    edges.push({
      parent: parentId,
      child: idOf(c.bs),
      name: c.name,
      perm: permsToQapiList(c.perm),
      "shared-perm": permsToQapiList(c.shared),
    });
  };
  for (const bb of state.backends) {
    const id = idOf(bb);
    nodes.push({ id, type: "block-backend", name: "" });
    if (bb.root) addEdge(id, bb.root);
  }
  for (const job of [...state.jobs].reverse()) {
    if (!(job instanceof BlockJob)) continue;
    const id = idOf(job);
    nodes.push({ id, type: "block-job", name: job.id });
    for (let i = job.nodes.length - 1; i >= 0; i--) addEdge(id, job.nodes[i]!);
  }
  for (const node of state.nodes.values()) {
    const id = idOf(node as BdsNode);
    nodes.push({ id, type: "block-driver", name: node.name });
    for (let i = node.children.length - 1; i >= 0; i--) addEdge(id, node.children[i]!);
  }
  return { nodes: nodes.reverse(), edges: edges.reverse() };
}
