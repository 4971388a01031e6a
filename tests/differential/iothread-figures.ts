/**
 * Iothread figures for the differential run: how many iothread objects, exports naming an iothread
 * and x-blockdev-set-iothread commands the sequences sent, how many QEMU accepted, their distinct
 * errors, and in how many sequences with them the engines agreed.
 */
import { messageTemplate } from "./differential-report.js";
import type { CaseOutcome } from "./run-differential.js";
import type { RecordedStep } from "./steps.js";

type Kind = "iothread objects" | "exports with an iothread" | "x-blockdev-set-iothread";

export interface IothreadFigures {
  sent: Map<Kind, { sent: number; accepted: number }>;
  errors: Set<string>;
  sequences: number;
  agreeing: number;
}

export function emptyIothreadFigures(): IothreadFigures {
  return { sent: new Map(), errors: new Set(), sequences: 0, agreeing: 0 };
}

function kindOf(s: RecordedStep): Kind | undefined {
  if (s.kind !== "qmp") return undefined;
  const args = (s.arguments ?? {}) as Record<string, unknown>;
  if (s.execute === "object-add" && args["qom-type"] === "iothread") return "iothread objects";
  if (s.execute === "block-export-add" && "iothread" in args) return "exports with an iothread";
  if (s.execute === "x-blockdev-set-iothread") return "x-blockdev-set-iothread";
  return undefined;
}

export function addIothreadFigures(f: IothreadFigures, o: CaseOutcome): void {
  let any = false;
  for (const s of o.qemu) {
    const kind = kindOf(s);
    if (kind === undefined || s.kind !== "qmp") continue;
    any = true;
    const fig = f.sent.get(kind) ?? { sent: 0, accepted: 0 };
    fig.sent++;
    if ("return" in s.reply) fig.accepted++;
    else f.errors.add(messageTemplate(s.reply.error.desc));
    f.sent.set(kind, fig);
  }
  if (!any) return;
  f.sequences++;
  if (!o.difference && !o.modelError && !o.qemuCrash) f.agreeing++;
}

export function formatIothreadFigures(f: IothreadFigures): string {
  const rows = [...f.sent.entries()].map(([k, x]) => `${x.sent} ${k} (${x.accepted} accepted)`).join(", ");
  return `iothreads: ${f.sequences} sequences with iothread commands, ${f.agreeing} agree; ${rows}; ${f.errors.size} distinct error messages:\n${[...f.errors].sort().map((e) => `  ${e}`).join("\n")}`;
}
