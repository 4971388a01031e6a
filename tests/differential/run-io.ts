/**
 * Running io steps: the node reference is resolved on the live graph (or, on replay, translated
 * through its recorded path), the command goes through Engine.io, and the output is kept with its
 * timings filtered as qemu-iotests' `_filter_qemu_io` does — the one part of qemu-io's text that
 * differs between two runs of the same command.
 */
import type { Engine } from "../../src/engines/engine.js";
import { isAutoName } from "../../src/graph-view/auto-name.js";
import { normalizeIoOutput } from "../../src/transcript/normalize.js";
import { BlockGraph, NodePathError } from "./block-graph.js";
import type { IoStep, RecordedIoStep } from "./steps.js";

async function runOn(engine: Engine, workdir: string, node: string, command: string, refs: Record<string, string>): Promise<RecordedIoStep> {
  const raw = await engine.io(node, command);
  const output = normalizeIoOutput(raw).split(workdir).join("$TEST_DIR");
  const step: RecordedIoStep = { kind: "io", node, command, output };
  if (Object.keys(refs).length > 0) step.refs = refs;
  return step;
}

/** Run an input io step; a `{"$node": path}` reference is resolved on the engine's current graph. */
export async function runIoStep(engine: Engine, workdir: string, step: IoStep): Promise<RecordedIoStep> {
  const refs: Record<string, string> = {};
  let node: string;
  if (typeof step.node === "string") node = step.node;
  else {
    const path = (step.node as { $node?: unknown } | null)?.$node;
    if (typeof path !== "string") throw new NodePathError(`io step node ${JSON.stringify(step.node)} is neither a name nor a {"$node": path}`);
    node = (await BlockGraph.query(engine)).resolve(path);
    if (isAutoName(node)) refs[node] = path;
  }
  return runOn(engine, workdir, node, step.command, refs);
}

/** Re-run a recorded io step on `engine`, its auto-named node found again by its path. */
export async function replayIoStep(engine: Engine, workdir: string, step: RecordedIoStep): Promise<RecordedIoStep> {
  const path = step.refs?.[step.node];
  if (path === undefined) return runOn(engine, workdir, step.node, step.command, {});
  const mine = (await BlockGraph.query(engine)).resolve(path);
  if (!isAutoName(mine)) throw new NodePathError(`path '${path}' leads to named node '${mine}', not an auto-named one`);
  return runOn(engine, workdir, mine, step.command, { [mine]: path });
}
