/**
 * `blockcheck graph SCENARIO [--format text|dot|svg] [--output FILE]`: run a scenario and show the
 * block graph it leaves — as `show graph` text, as Graphviz DOT, or as an SVG picture drawn in-process.
 */
import { stat } from "node:fs/promises";
import path from "node:path";
import { loadConfig } from "../../config/config.js";
import { createEngine } from "../../engines/factory/create.js";
import { UsageError } from "../../errors.js";
import { renderGraph } from "../../transcript/render-graph.js";
import { graphState, namedNodes } from "../../runner/graph-state.js";
import { loadScenarioFile } from "../../runner/load.js";
import { findProjectRoot } from "../../runner/project-root.js";
import { runOnEngine } from "../../runner/run-on-engine.js";
import { createScratch, removeScratch } from "../../runner/scratch.js";
import { displayName } from "../../runner/selection.js";
import { graphPicture, type GraphPicture } from "../../picture/graph-picture.js";
import type { Command } from "../command.js";
import { graphFormat, renderGraphs, writeGraphOutput, type ShownGraph } from "./graph-output.js";
import { enginesFor } from "./run-options.js";

export const graphCommand: Command = {
  name: "graph",
  summary: "show a scenario's final block graph as text, DOT or SVG",
  usage: "SCENARIO",
  description: [
    "Runs SCENARIO (each parameter value in turn) and shows the block graph it leaves. Failed",
    "expectations are reported on stderr (exit 1) but the graph is still shown.",
    "",
    "Formats: text is the transcript's 'show graph' lines; dot is Graphviz DOT; svg is a picture drawn",
    "by Graphviz built into blockcheck (no Graphviz install needed). In dot and svg, block nodes show",
    "their driver and ro/rw, edges their role and perm/shared permissions; the values of a",
    "parameterised scenario are drawn side by side, one box each.",
  ].join("\n"),
  options: {
    engine: { type: "string", short: "e", value: "ENGINE", description: "model (default) or qemu" },
    format: { type: "string", short: "f", value: "FORMAT", description: "text (default), dot or svg" },
    output: { type: "string", short: "o", value: "FILE", description: "write to FILE instead of standard output" },
  },
  async run({ values, positionals }, io) {
    if (positionals.length !== 1) throw new UsageError("graph takes exactly one scenario file");
    const format = graphFormat((values.format as string | undefined) ?? "text");
    const config = await loadConfig(await findProjectRoot(io.cwd));
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
    const shown: ShownGraph[] = [];
    for (const inst of loaded.instances) {
      const title = displayName(inst);
      let lines: string[] = [];
      let picture: GraphPicture | undefined;
      const scratch = await createScratch();
      try {
        const fresh = createEngine(engine, { qemu: { binaries: config.binaries, env: io.env } });
        const run = await runOnEngine(inst, fresh, scratch, {
          timeoutMs: config.timeout * 1000,
          inspect: async (ctx) => {
            const state = await graphState(ctx);
            lines = renderGraph(state.graph, state.labels);
            // Driver and ro/rw are not in x-debug-query-block-graph; only pictures show them.
            if (format !== "text") picture = graphPicture(title, state.graph, state.labels, await namedNodes(ctx));
          },
        });
        shown.push(run.status === "skip" ? { title, skipped: run.skipReason ?? "skipped" } : { title, lines, ...(picture ? { picture } : {}) });
        for (const f of run.failures) {
          status = 1;
          const phase = f.phase ? ` (in phase "${f.phase}")` : "";
          io.stderr.write(`${f.location ? f.location + ": " : ""}${f.message}${phase}\n`);
        }
      } finally {
        await removeScratch(scratch);
      }
    }
    for (const s of shown) if ("skipped" in s && format !== "text") io.stderr.write(`${s.title}: skipped: ${s.skipped}\n`);
    const text = await renderGraphs(format, loaded.instances[0]?.name ?? path.basename(abs, ".scn"), shown);
    await writeGraphOutput(text, values.output as string | undefined, io);
    return status;
  },
};
