/**
 * Runs one command sequence on the model and on real qemu-storage-daemon in twin scratch
 * directories and returns the steps whose replies differ (auto node names and paths normalized).
 * Arguments may name implicit nodes as "@node/child/child"; each side resolves them on its own graph.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BlockLayer } from "../../../src/engines/model/block-layer.js";
import { replaceAutoNames } from "../../../src/graph-view/auto-name.js";
import { makeImages } from "./fixture.js";
import { Qsd, qemuJson } from "./qsd.js";

export type Step = [command: string, args?: Record<string, unknown>];

interface Graph {
  nodes: Array<{ id: number; name: string }>;
  edges: Array<{ parent: number; child: number; name: string }>;
}

function resolvePath(graph: Graph, path: string): string {
  const [start, ...edges] = path.slice(1).split("/");
  let id = graph.nodes.find((n) => n.name === start)?.id;
  for (const e of edges) id = graph.edges.find((x) => x.parent === id && x.name === e)?.child;
  return graph.nodes.find((n) => n.id === id)?.name ?? path;
}

function substitute(value: unknown, graph: Graph): unknown {
  if (typeof value === "string") return value.startsWith("@") ? resolvePath(graph, value) : value;
  if (Array.isArray(value)) return value.map((v) => substitute(v, graph));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, graph)]));
  }
  return value;
}

const normalize = (line: string): string => replaceAutoNames(line, () => "#block");

/** Differences as "command: qemu=… model=…" lines; empty when the engines agree byte for byte. */
export async function compareWithQemu(steps: Step[]): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), "blockcheck-live-"));
  makeImages(dir);
  const qsd = new Qsd(dir);
  const model = new BlockLayer({ workdir: dir });
  const diffs: string[] = [];
  try {
    await qsd.open();
    for (const [command, args] of steps) {
      const symbolic = JSON.stringify(args ?? {}).includes('"@');
      let realArgs = args;
      let modelArgs = args;
      if (symbolic) {
        realArgs = substitute(args, JSON.parse(await qsd.send("x-debug-query-block-graph")).return as Graph) as Record<string, unknown>;
        const mg = model.execute("x-debug-query-block-graph");
        modelArgs = substitute(args, ("return" in mg ? mg.return : {}) as Graph) as Record<string, unknown>;
      }
      const real = normalize(await qsd.send(command, realArgs));
      const mine = normalize(qemuJson(model.execute(command, modelArgs)));
      if (real !== mine) diffs.push(`${command} ${JSON.stringify(args ?? {})}\n  qemu:  ${real}\n  model: ${mine}`);
    }
  } finally {
    await qsd.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return diffs;
}
