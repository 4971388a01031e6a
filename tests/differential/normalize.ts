/**
 * Turn a recorded run into comparable text lines: graph queries are rendered edge by edge in QEMU's
 * output order, query-named-block-nodes is cut down to the fields the model answers (name, driver,
 * read-only), and auto names (`#block123`, random in QEMU) become `#auto1`, `#auto2`… in order of
 * first appearance in the run. Two engines that agree give identical lines.
 */
import type { QmpReply } from "../../src/engines/engine.js";
import { replaceAutoNames } from "../../src/graph-view/auto-name.js";
import { parseBlockGraph } from "../../src/graph-view/block-graph.js";
import { GraphReplyError } from "../../src/graph-view/errors.js";
import type { RecordedQmpStep, RecordedStep } from "./steps.js";

/** Maps one engine's auto names to stable labels, by first appearance. */
export class AutoNameLabels {
  private readonly labels = new Map<string, string>();

  apply(text: string): string {
    return replaceAutoNames(text, (name) => {
      let label = this.labels.get(name);
      if (label === undefined) {
        label = `#auto${this.labels.size + 1}`;
        this.labels.set(name, label);
      }
      return label;
    });
  }
}

function perms(p: string[]): string {
  return p.join(",");
}

/** Nodes and edges in QEMU's output order; a reply that is no graph is shown as such, to be compared. */
function renderGraph(ret: unknown): string[] {
  let graph;
  try {
    graph = parseBlockGraph(ret);
  } catch (e) {
    if (e instanceof GraphReplyError) return [`   ${e.message}`];
    throw e;
  }
  const label = new Map<number, string>();
  for (const n of graph.nodes.values()) label.set(n.id, n.type === "block-driver" ? n.name : `${n.type}(${n.name === "" ? `#${n.id}` : n.name})`);
  const lines = [...graph.nodes.values()].map((n) => `   node ${n.id} ${label.get(n.id)}`);
  for (const e of graph.edges) {
    lines.push(`   edge ${label.get(e.parent)} -[${e.name}]-> ${label.get(e.child)} perm=${perms(e.perm)} shared=${perms(e.shared)}`);
  }
  return lines;
}

function renderNamedNodes(ret: Array<Record<string, unknown>>): string[] {
  return ret.map((n) => `   node ${String(n["node-name"])} drv=${String(n.drv)} ro=${String(n.ro)}`);
}

function renderReply(execute: string, reply: QmpReply): string[] {
  if ("return" in reply) {
    if (execute === "x-debug-query-block-graph") return ["<- graph", ...renderGraph(reply.return)];
    if (execute === "query-named-block-nodes") return ["<- nodes", ...renderNamedNodes(reply.return as Array<Record<string, unknown>>)];
    return [`<- ${JSON.stringify(reply)}`];
  }
  return [`<- error ${reply.error.class}: ${reply.error.desc}`];
}

function renderQmp(step: RecordedQmpStep): string[] {
  const cmd = step.arguments === undefined ? step.execute : `${step.execute} ${JSON.stringify(step.arguments)}`;
  return [`-> ${cmd}`, ...renderReply(step.execute, step.reply), ...step.events.map((e) => `<- event ${JSON.stringify(e)}`)];
}

/** The lines of one step, before auto names are labelled. */
function renderStep(step: RecordedStep): string[] {
  if (step.kind === "image") {
    const s = step.spec;
    return [`image ${s.path} ${s.format} ${s.size}${s.backingFile ? ` backing=${s.backingFile} (${s.backingFormat ?? "?"})` : ""}`];
  }
  if (step.kind === "io") return [`-> io ${step.node} ${JSON.stringify(step.command)}`, ...step.output.split("\n").map((l) => `<- ${l}`)];
  return renderQmp(step);
}

/** Normalized lines for a whole run, one group per step. */
export function normalizeRun(steps: readonly RecordedStep[]): string[][] {
  const labels = new AutoNameLabels();
  return steps.map((s) => renderStep(s).map((line) => labels.apply(line)));
}
