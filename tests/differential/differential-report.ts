/**
 * Figures and failure reports for the differential run: how much was exercised, and for each
 * disagreement the seed, the commands to reproduce it, and both engines' answers.
 */
import { replaceAutoNames } from "../../src/graph-view/auto-name.js";
import { formatDifference } from "./compare.js";
import type { CaseOutcome } from "./run-differential.js";
import type { Step } from "./steps.js";

/** What the sequences did with block jobs. */
export interface JobFigures {
  /** Sequences that started at least one job. */
  sequences: number;
  /** Jobs started (a job-starting command that succeeded). */
  started: number;
  /** Job commands sent: starts, job-* and block-job-* verbs, job queries. */
  commands: number;
  errorReplies: number;
  /** Distinct job errors (auto names masked): error replies of job commands, errors that name a job or a frozen link, jobs that failed. */
  messages: Set<string>;
  /** Their distinct message templates. */
  templates: Set<string>;
}

export interface Figures {
  sequences: number;
  /** Sequences on which the engines agree (no difference, no model error, no QEMU crash). */
  agreeing: number;
  commands: number;
  errorReplies: number;
  /** Distinct QEMU error texts, auto names masked. */
  messages: Set<string>;
  /** Distinct message templates: quoted values and node names masked. */
  templates: Set<string>;
  jobs: JobFigures;
}

const JOB_START = /^(block-stream|block-commit|blockdev-mirror)$/;
const JOB_COMMAND = /^(block-stream|block-commit|blockdev-mirror|job-\w+|block-job-[\w-]+|query-jobs|query-block-jobs)$/;
/** An error of another command that a job caused: a busy node, a frozen link, a job's permissions. */
const JOB_CAUSED = /\bjob\b|frozen/i;

export function emptyFigures(): Figures {
  return {
    sequences: 0,
    agreeing: 0,
    commands: 0,
    errorReplies: 0,
    messages: new Set(),
    templates: new Set(),
    jobs: { sequences: 0, started: 0, commands: 0, errorReplies: 0, messages: new Set(), templates: new Set() },
  };
}

function addJobError(j: JobFigures, desc: string): void {
  j.messages.add(replaceAutoNames(desc, () => "#blockNNN"));
  j.templates.add(messageTemplate(desc));
}

export function addFigures(f: Figures, o: CaseOutcome): void {
  f.sequences++;
  if (!o.difference && !o.modelError && !o.qemuCrash) f.agreeing++;
  const j = f.jobs;
  let startedHere = 0;
  for (const s of o.qemu) {
    if (s.kind !== "qmp") continue;
    f.commands++;
    const isJobCommand = JOB_COMMAND.test(s.execute);
    if (isJobCommand) j.commands++;
    if (JOB_START.test(s.execute) && "return" in s.reply) startedHere++;
    if ("error" in s.reply) {
      f.errorReplies++;
      f.messages.add(replaceAutoNames(s.reply.error.desc, () => "#blockNNN"));
      f.templates.add(messageTemplate(s.reply.error.desc));
      if (isJobCommand) j.errorReplies++;
      if (isJobCommand || JOB_CAUSED.test(s.reply.error.desc)) addJobError(j, s.reply.error.desc);
    }
    // A job that failed says why in BLOCK_JOB_COMPLETED.
    for (const e of s.events) {
      const err = e.event === "BLOCK_JOB_COMPLETED" && e.data && typeof e.data === "object" && !Array.isArray(e.data) ? e.data["error"] : undefined;
      if (typeof err === "string") addJobError(j, err);
    }
  }
  j.started += startedHere;
  if (startedHere > 0) j.sequences++;
}

/** A message with its variable parts masked, e.g. `Node '…' is busy: node is used as backing hd of '…'`. */
export function messageTemplate(desc: string): string {
  return desc
    .replace(/(?<=\W)'[^']*'/g, "'…'")
    .replace(/\(\d+\)/g, "(N)")
    .replace(/^(Node|Block device) \S+ is/, "$1 … is");
}

export function formatFigures(f: Figures): string {
  const j = f.jobs;
  const pct = f.sequences === 0 ? "0" : ((100 * f.agreeing) / f.sequences).toFixed(1);
  return (
    `${f.sequences} sequences, ${f.agreeing} agree (${pct}%), ${f.commands} commands, ${f.errorReplies} error replies, ` +
    `${f.messages.size} distinct error texts in ${f.templates.size} distinct messages:\n` +
    [...f.templates].sort().map((m) => `  ${m}`).join("\n") +
    `\njobs: ${j.started} jobs started in ${j.sequences} sequences, ${j.commands} job commands, ${j.errorReplies} job command errors, ` +
    `${j.messages.size} distinct job errors in ${j.templates.size} distinct messages:\n` +
    [...j.templates].sort().map((m) => `  ${m}`).join("\n")
  );
}

/** The commands of a sequence, one JSON line each, ready to paste into a sequence file. */
export function formatSteps(steps: readonly Step[]): string {
  return steps.filter((s) => s.kind !== "image").map((s) => `  ${JSON.stringify(s)}`).join("\n");
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
