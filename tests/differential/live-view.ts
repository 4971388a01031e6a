/** Query the reference engine's state for the generator (not part of the recorded run). */
import type { Engine } from "../../src/engines/engine.js";
import { parseNamedNodes } from "../../src/graph-view/named-nodes.js";
import { BlockGraph, NodePathError } from "./block-graph.js";
import type { LiveView, NodeInfo } from "./gen-state.js";

/**
 * `workdir` is the reference engine's scratch directory: filenames come back with it written as
 * `$TEST_DIR`, so a step the generator builds from them names the same file on the replaying engine.
 */
export async function liveView(engine: Engine, workdir: string): Promise<LiveView> {
  const graph = await BlockGraph.query(engine);
  const reply = await engine.qmp("query-named-block-nodes", { flat: true });
  if (!("return" in reply)) throw new NodePathError(`query-named-block-nodes failed: ${reply.error.desc}`);
  const nodes = parseNamedNodes(reply.return).map(
    (n): NodeInfo => ({ name: n.name, drv: n.driver, ro: n.readOnly, file: n.filename.split(workdir).join("$TEST_DIR") }),
  );
  const jobs = await engine.qmp("query-jobs");
  if (!("return" in jobs)) throw new NodePathError(`query-jobs failed: ${jobs.error.desc}`);
  return { graph, nodes, jobs: (jobs.return as Array<{ id: string; type: string; status: string }>).map(({ id, type, status }) => ({ id, type, status })) };
}
