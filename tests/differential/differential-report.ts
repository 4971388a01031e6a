/**
 * Figures and failure reports for the differential run: how much was exercised, and for each
 * disagreement the seed, the commands to reproduce it, and both engines' answers.
 */
import { replaceAutoNames } from "../../src/graph-view/auto-name.js";
import { formatDifference } from "./compare.js";
import type { CaseOutcome } from "./run-differential.js";
import type { Step } from "./steps.js";

export interface Figures {
  sequences: number;
  commands: number;
  errorReplies: number;
  /** Distinct QEMU error texts, auto names masked. */
  messages: Set<string>;
  /** Distinct message templates: quoted values and node names masked. */
  templates: Set<string>;
}

export function emptyFigures(): Figures {
  return { sequences: 0, commands: 0, errorReplies: 0, messages: new Set(), templates: new Set() };
}

export function addFigures(f: Figures, o: CaseOutcome): void {
  f.sequences++;
  for (const s of o.qemu) {
    if (s.kind !== "qmp") continue;
    f.commands++;
    if ("error" in s.reply) {
      f.errorReplies++;
      f.messages.add(replaceAutoNames(s.reply.error.desc, () => "#blockNNN"));
      f.templates.add(messageTemplate(s.reply.error.desc));
    }
  }
}

/** A message with its variable parts masked, e.g. `Node '…' is busy: node is used as backing hd of '…'`. */
export function messageTemplate(desc: string): string {
  return desc
    .replace(/(?<=\W)'[^']*'/g, "'…'")
    .replace(/\(\d+\)/g, "(N)")
    .replace(/^(Node|Block device) \S+ is/, "$1 … is");
}

export function formatFigures(f: Figures): string {
  return (
    `${f.sequences} sequences, ${f.commands} commands, ${f.errorReplies} error replies, ` +
    `${f.messages.size} distinct error texts in ${f.templates.size} distinct messages:\n` +
    [...f.templates].sort().map((m) => `  ${m}`).join("\n")
  );
}

/** The commands of a sequence, one JSON line each, ready to paste into a sequence file. */
export function formatSteps(steps: readonly Step[]): string {
  return steps.filter((s) => s.kind === "qmp").map((s) => `  ${JSON.stringify(s)}`).join("\n");
}

/** A short key grouping failures that are probably the same model bug. */
export function failureSignature(o: CaseOutcome): string {
  if (o.qemuCrash) return `QEMU run failed: ${o.qemuCrash.split("\n")[0]}`;
  if (o.modelError) return `model replay failed: ${o.modelError.split("\n")[0]}`;
  const d = o.difference!;
  const i = d.expected.findIndex((line, k) => line !== d.actual[k]);
  return `${d.expected[0]?.split(" ")[1] ?? "?"}: qemu ${d.expected[i] ?? "(nothing)"} | model ${d.actual[i] ?? "(nothing)"}`.replace(/#auto\d+/g, "#auto");
}

export function formatFailure(o: CaseOutcome, shrunk?: readonly Step[]): string {
  const parts = [`seed ${o.seed} (${failureSignature(o)})`];
  if (o.qemuCrash) parts.push(o.qemuCrash);
  if (o.modelError) parts.push(o.modelError);
  if (o.difference) parts.push(formatDifference(o.difference));
  parts.push(shrunk ? "commands (shrunk):" : "commands:", formatSteps(shrunk ?? o.steps));
  return parts.join("\n");
}
