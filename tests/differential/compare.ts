/**
 * Comparing two normalized runs step by step, and describing the first step where they differ.
 */
import { AutoNameLabels, normalizeRun } from "./normalize.js";
import type { RecordedStep } from "./steps.js";

export interface RunDifference {
  /** Index of the first step whose normalized lines differ. */
  step: number;
  /** That step as the reference (QEMU) answered it, and as the engine under test did. */
  expected: string[];
  actual: string[];
}

/** The first differing step, or undefined when the runs agree. A shorter run differs where it stops. */
export function firstDifference(expected: readonly RecordedStep[], actual: readonly RecordedStep[]): RunDifference | undefined {
  const a = normalizeRun(expected);
  const b = normalizeRun(actual);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? ["(no step)"];
    const y = b[i] ?? ["(no step)"];
    if (x.join("\n") !== y.join("\n")) return { step: i, expected: x, actual: y };
  }
  return undefined;
}

/**
 * Stricter than firstDifference: the first step whose reply differs as JSON text (every field, in
 * QEMU's key order), once each run's auto names are labelled by first appearance. `mask` blanks
 * values that depend on the host rather than on QEMU (actual-size, when the runs were on different
 * file systems).
 */
export function firstRawDifference(expected: readonly RecordedStep[], actual: readonly RecordedStep[], mask?: RegExp): RunDifference | undefined {
  const a = new AutoNameLabels();
  const b = new AutoNameLabels();
  const text = (labels: AutoNameLabels, step: RecordedStep | undefined): string => {
    if (step?.kind === "io") return labels.apply(JSON.stringify(step.output));
    if (step?.kind !== "qmp") return step ? "(image)" : "(no step)";
    const raw = labels.apply(JSON.stringify(step.reply));
    return mask ? raw.replace(mask, "…") : raw;
  };
  for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
    const x = text(a, expected[i]);
    const y = text(b, actual[i]);
    if (x !== y) return { step: i, expected: [x], actual: [y] };
  }
  return undefined;
}

/** A readable report: the diverging step's lines from both sides. */
export function formatDifference(d: RunDifference, names: { expected: string; actual: string } = { expected: "qemu", actual: "model" }): string {
  return [`step ${d.step + 1} differs`, `--- ${names.expected}`, ...d.expected, `+++ ${names.actual}`, ...d.actual].join("\n");
}
