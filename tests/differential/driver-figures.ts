/**
 * Per-driver figures for the differential run: for each driver, how many nodes of it the sequences
 * asked for (at the top of a blockdev-add or inline below it), how many of those adds QEMU
 * accepted, in how many sequences the driver appeared, and in how many of those the engines agreed.
 */
import type { CaseOutcome } from "./run-differential.js";
import type { Json } from "./steps.js";

interface DriverFigure {
  /** blockdev-add commands naming the driver anywhere in their options. */
  adds: number;
  /** Those QEMU accepted. */
  accepted: number;
  sequences: number;
  agreeing: number;
}

export type DriverFigures = Map<string, DriverFigure>;

export function emptyDriverFigures(): DriverFigures {
  return new Map();
}

/** Every `driver` value in a blockdev-add's options, the node's own and its inline children's. */
function driversIn(value: Json | undefined, out: Set<string>): Set<string> {
  if (Array.isArray(value)) value.forEach((v) => driversIn(v, out));
  else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (k === "driver" && typeof v === "string") out.add(v);
      else driversIn(v, out);
    }
  }
  return out;
}

export function addDriverFigures(f: DriverFigures, o: CaseOutcome): void {
  const agree = !o.difference && !o.modelError && !o.qemuCrash;
  const seen = new Set<string>();
  for (const s of o.qemu) {
    if (s.kind !== "qmp" || s.execute !== "blockdev-add") continue;
    for (const driver of driversIn(s.arguments, new Set())) {
      const fig = f.get(driver) ?? { adds: 0, accepted: 0, sequences: 0, agreeing: 0 };
      fig.adds++;
      if ("return" in s.reply) fig.accepted++;
      f.set(driver, fig);
      seen.add(driver);
    }
  }
  for (const driver of seen) {
    const fig = f.get(driver)!;
    fig.sequences++;
    if (agree) fig.agreeing++;
  }
}

export function formatDriverFigures(f: DriverFigures): string {
  const rows = [...f.entries()].sort(([a], [b]) => a.localeCompare(b));
  return (
    "drivers (blockdev-add commands naming it, accepted by QEMU; sequences with it, agreeing):\n" +
    rows.map(([d, x]) => `  ${d}: ${x.adds} adds, ${x.accepted} accepted; ${x.sequences} sequences, ${x.agreeing} agree`).join("\n")
  );
}
