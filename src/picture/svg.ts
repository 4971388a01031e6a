/**
 * SVG pictures of block graphs, drawn in-process by Graphviz compiled to WebAssembly
 * (@viz-js/viz): no `dot` binary is needed. The module is loaded on first use, so commands that
 * draw nothing do not pay for loading it: with `require`, not `import()`, because the CLI's
 * CommonJS bundle, compiled with V8's code cache, cannot import (scripts/bundle.ts).
 *
 * With `run --pictures` each `show graph` step calls `renderGraphSvg(graphPicture(…))` on the graph
 * it shows (src/runner/steps/show-picture.ts); picture-files.ts says where the SVG goes.
 */
import { createRequire } from "node:module";
import { renderGraphDot } from "./dot.js";
import { PictureError } from "./errors.js";
import type { GraphPicture } from "./graph-picture.js";
import type { Viz } from "@viz-js/viz";

// Instantiating Graphviz's WebAssembly takes tens of milliseconds; one instance serves every picture
// a process draws (rendering keeps no state between graphs).
let viz: Promise<Viz> | undefined;

/** The SVG document of one picture. */
export async function renderGraphSvg(view: GraphPicture): Promise<string> {
  return dotToSvg(renderGraphDot(view));
}

/** The SVG document Graphviz's `dot` layout draws for DOT text. */
export async function dotToSvg(dot: string): Promise<string> {
  viz ??= Promise.resolve().then(() => (createRequire(import.meta.url)("@viz-js/viz") as typeof import("@viz-js/viz")).instance());
  const result = (await viz).render(dot, { format: "svg", engine: "dot" });
  if (result.status !== "success") {
    const why = result.errors.map((e) => e.message.trim()).join("; ");
    throw new PictureError(`Graphviz could not draw the graph: ${why || "no reason given"}`);
  }
  return result.output;
}
