/**
 * The io part of the differential's figures: how many sequences had qemu-io commands, how many
 * commands ran and how many failed, the distinct failures (auto names masked), and how many image
 * files were compared at the end of the sequences (byte for byte, or qcow2 by content after a mirror-based job).
 */
import { replaceAutoNames } from "../../src/graph-view/auto-name.js";
import { ioOutcome, splitIoOutput } from "../../src/runner/steps/io-outcome.js";
import { messageTemplate } from "./differential-report.js";
import { mirrored } from "./image-files.js";
import type { CaseOutcome } from "./run-differential.js";

export interface IoFigures {
  ioSequences: number;
  ioCommands: number;
  ioErrors: number;
  /** Distinct failure lines (the step's error message as a scenario would see it). */
  ioMessages: Set<string>;
  /** The same with numbers and quoted names masked. */
  ioTemplates: Set<string>;
  /** Image files compared (per sequence, both engines' copies). */
  imageFiles: number;
  imageBytes: number;
  /** Of those, files of sequences with a mirror-based job: qcow2 compared by content where bytes differ. */
  imageFilesAfterMirror: number;
}

export function emptyIoFigures(): IoFigures {
  return { ioSequences: 0, ioCommands: 0, ioErrors: 0, ioMessages: new Set(), ioTemplates: new Set(), imageFiles: 0, imageBytes: 0, imageFilesAfterMirror: 0 };
}

export function addIoFigures(f: IoFigures, o: CaseOutcome): void {
  let io = 0;
  for (const s of o.qemu) {
    if (s.kind !== "io") continue;
    io++;
    const outcome = ioOutcome(s.command, splitIoOutput(s.output));
    if (outcome.ok) continue;
    f.ioErrors++;
    f.ioMessages.add(replaceAutoNames(outcome.desc, () => "#blockNNN"));
    f.ioTemplates.add(messageTemplate(outcome.desc).replace(/\d+/g, "N"));
  }
  f.ioCommands += io;
  if (io > 0) f.ioSequences++;
  // Compared only when the model's replay got to the end (no earlier difference or model error).
  if (!o.difference && !o.modelError && o.qemuImages) {
    f.imageFiles += o.qemuImages.length;
    f.imageBytes += o.qemuImages.reduce((n, i) => n + (i.bytes?.length ?? 0), 0);
    if (mirrored(o.qemu)) f.imageFilesAfterMirror += o.qemuImages.length;
  }
}

export function formatIoFigures(f: IoFigures): string {
  return (
    `io: ${f.ioSequences} sequences with qemu-io, ${f.ioCommands} qemu-io commands, ${f.ioErrors} failed, ` +
    `${f.ioMessages.size} distinct failures in ${f.ioTemplates.size} distinct messages; ${f.imageFiles} image files (${(f.imageBytes / 2 ** 20).toFixed(1)} MiB) agree: ` +
    `${f.imageFiles - f.imageFilesAfterMirror} byte for byte, ${f.imageFilesAfterMirror} after a mirror-based job (qcow2 by content where their bytes differ):\n` +
    [...f.ioTemplates].sort().map((m) => `  ${m}`).join("\n")
  );
}
