/** The formats of `blockcheck graph` and where its output goes. */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { UsageError } from "../../errors.js";
import { onFile } from "../../file-errors.js";
import { renderGraphDot, renderGraphsDot } from "../../picture/dot.js";
import type { GraphPicture } from "../../picture/graph-picture.js";
import { dotToSvg } from "../../picture/svg.js";
import { didYouMean } from "../../text/did-you-mean.js";
import type { CliIo } from "../command.js";

export const GRAPH_FORMATS = ["text", "dot", "svg"] as const;
export type GraphFormat = (typeof GRAPH_FORMATS)[number];

/** The graph of one scenario instance: its `show graph` lines and picture, or why it was skipped. */
export type ShownGraph = { title: string; lines: string[]; picture?: GraphPicture } | { title: string; skipped: string };

/** `--format` checked, with a suggestion for a typo. */
export function graphFormat(text: string): GraphFormat {
  if ((GRAPH_FORMATS as readonly string[]).includes(text)) return text as GraphFormat;
  const hint = didYouMean(text, GRAPH_FORMATS);
  throw new UsageError(`--format must be ${GRAPH_FORMATS.join(", ")} (got '${text}')${hint ? `; did you mean '${hint}'?` : ""}`);
}

/**
 * The whole output. Text gives each instance under a `# NAME` line when there are several; DOT and
 * SVG are one document (one file must hold one SVG), with several instances drawn as clusters.
 */
export async function renderGraphs(format: GraphFormat, title: string, shown: readonly ShownGraph[]): Promise<string> {
  if (format === "text") {
    return shown
      .map((s) => {
        const head = shown.length > 1 ? `# ${s.title}\n` : "";
        return head + ("skipped" in s ? `skipped: ${s.skipped}\n` : s.lines.map((l) => l + "\n").join(""));
      })
      .join("");
  }
  const pictures = shown.flatMap((s) => ("picture" in s && s.picture ? [s.picture] : []));
  const dot = pictures.length === 1 && shown.length === 1 ? renderGraphDot(pictures[0]!) : renderGraphsDot(title, pictures);
  return format === "dot" ? dot : dotToSvg(dot);
}

/** To `--output FILE` (its directory made as needed) or standard output. */
export async function writeGraphOutput(text: string, output: string | undefined, io: CliIo): Promise<void> {
  if (output === undefined) {
    io.stdout.write(text);
    return;
  }
  const file = path.resolve(io.cwd, output);
  await onFile("write --output", file, async () => {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, text);
  });
}
