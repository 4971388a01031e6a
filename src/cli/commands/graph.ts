/** `blockcheck graph SCENARIO`: run a scenario and print its final block graph (`show graph` format). */
import { stat } from "node:fs/promises";
import path from "node:path";
import { loadConfig } from "../../config/config.js";
import { createEngine } from "../../engines/factory/create.js";
import { UsageError } from "../../errors.js";
import { renderGraph } from "../../transcript/render-graph.js";
import { graphState } from "../../runner/graph-state.js";
import { loadScenarioFile } from "../../runner/load.js";
import { runOnEngine } from "../../runner/run-on-engine.js";
import { createScratch, removeScratch } from "../../runner/scratch.js";
import { displayName } from "../../runner/selection.js";
import type { Command } from "../command.js";
import { enginesFor } from "./run-options.js";

export const graphCommand: Command = {
  name: "graph",
  summary: "print a scenario's final block graph",
  usage: "SCENARIO",
  description:
    "Runs SCENARIO (each parameter value in turn) and prints the block graph it leaves, in the\n" +
    "transcript's 'show graph' format. Failed expectations are reported but the graph is still printed.",
  options: {
    engine: { type: "string", short: "e", value: "ENGINE", description: "model (default) or qemu" },
  },
  async run({ values, positionals }, io) {
    if (positionals.length !== 1) throw new UsageError("graph takes exactly one scenario file");
    const config = await loadConfig(io.cwd);
    const engines = enginesFor((values.engine as string | undefined) ?? (config.engine === "both" ? "model" : config.engine));
    if (engines.length !== 1) throw new UsageError("graph runs on one engine: --engine model or --engine qemu");
    const abs = path.resolve(io.cwd, positionals[0]!);
    const st = await stat(abs).catch(() => undefined);
    if (!st?.isFile() || !abs.endsWith(".scn")) throw new UsageError(`'${positionals[0]}' is not a scenario file (.scn)`);
    const rel = path.relative(config.scenarios, abs).split(path.sep).join("/");
    const loaded = await loadScenarioFile({ abs, rel: rel.startsWith("..") ? path.basename(abs) : rel }, io.cwd);
    if (!loaded.ok) {
      io.stderr.write(loaded.failure.message + "\n");
      return 1;
    }
    const engine = engines[0]!;
    let status = 0;
    for (const inst of loaded.instances) {
      let lines: string[] = [];
      const scratch = await createScratch();
      try {
        const fresh = createEngine(engine, { qemu: { binaries: config.binaries, env: io.env } });
        const run = await runOnEngine(inst, fresh, scratch, {
          timeoutMs: config.timeout * 1000,
          inspect: async (ctx) => {
            const state = await graphState(ctx);
            lines = renderGraph(state.graph, state.labels);
          },
        });
        if (loaded.instances.length > 1) io.stdout.write(`# ${displayName(inst)}\n`);
        if (run.status === "skip") io.stdout.write(`skipped: ${run.skipReason}\n`);
        else io.stdout.write(lines.map((l) => l + "\n").join(""));
        for (const f of run.failures) {
          status = 1;
          const phase = f.phase ? ` (in phase "${f.phase}")` : "";
          io.stderr.write(`${f.location ? f.location + ": " : ""}${f.message}${phase}\n`);
        }
      } finally {
        await removeScratch(scratch);
      }
    }
    return status;
  },
};
