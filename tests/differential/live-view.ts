/** Query the reference engine's state for the generator (not part of the recorded run). */
import type { Engine } from "../../src/engines/engine.js";
import { BlockGraph, NodePathError } from "./block-graph.js";
import type { LiveView, NodeInfo } from "./gen-state.js";

export async function liveView(engine: Engine): Promise<LiveView> {
  const graph = await BlockGraph.query(engine);
  const reply = await engine.qmp("query-named-block-nodes", { flat: true });
  if (!("return" in reply)) throw new NodePathError(`query-named-block-nodes failed: ${reply.error.desc}`);
  const nodes = (reply.return as Array<Record<string, unknown>>).map(
    (n): NodeInfo => ({ name: String(n["node-name"]), drv: String(n.drv), ro: n.ro === true, file: String(n.file ?? "") }),
  );
  return { graph, nodes };
}
