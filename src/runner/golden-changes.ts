/**
 * What a run did to the golden files, one entry per golden (several engines' runs may share one):
 * created or updated (with --update), unchanged, left alone and why, and the pending files it wrote
 * for review. `run` prints it after the results, so an update never changes goldens silently.
 */
import type { RunSummary, ScenarioResult } from "./results.js";

export interface GoldenChanges {
  created: string[];
  updated: string[];
  /** Goldens that already held the transcript. */
  unchanged: string[];
  /** Goldens that differ or are missing and were not written, with the reason. */
  leftAlone: Array<{ file: string; why: string }>;
  /** Pending files written by this run, with the engine that wrote each. */
  pending: Array<{ file: string; engine: string; kind: "mismatch" | "new" }>;
}

/** The golden changes of a run, each list sorted by file. */
export function goldenChanges(summary: RunSummary): GoldenChanges {
  const byFile = new Map<string, ScenarioResult[]>();
  for (const r of summary.results) {
    if (!r.golden) continue;
    byFile.set(r.golden.file, [...(byFile.get(r.golden.file) ?? []), r]);
  }
  const out: GoldenChanges = { created: [], updated: [], unchanged: [], leftAlone: [], pending: [] };
  for (const [file, results] of [...byFile].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const statuses = results.map((r) => r.golden!.status);
    if (statuses.includes("created")) out.created.push(file);
    else if (statuses.includes("updated")) out.updated.push(file);
    else if (statuses.every((s) => s === "match")) out.unchanged.push(file);
    else out.leftAlone.push({ file, why: whyLeftAlone(results.find((r) => r.golden!.status !== "match")!) });
    for (const r of results) {
      if (r.golden!.pending) out.pending.push({ file: r.golden!.pending, engine: r.engine, kind: r.golden!.status === "missing" ? "new" : "mismatch" });
    }
  }
  return out;
}

function whyLeftAlone(r: ScenarioResult): string {
  const g = r.golden!;
  const first = (pred: (f: ScenarioResult["failures"][number]) => boolean) => r.failures.find(pred)?.message.split("\n")[0];
  if (g.status === "not-compared") return `the ${r.engine} run did not finish: ${first((f) => f.infrastructure === true) ?? "stopped"}`;
  if (g.status === "error" || g.status === "invalid") return first((f) => f.kind === "error" || f.kind === "golden") ?? g.status;
  const own = r.failures.filter((f) => f.kind !== "golden" && f.kind !== "missing-golden" && f.kind !== "engines-differ");
  if (own.length > 0) return `the ${r.engine} run failed (${own[0]!.message.split("\n")[0]}), so it is not a spec`;
  if (r.engine === "model") return "with both engines only QEMU's transcripts are written";
  return g.status === "missing" ? "missing" : "differs";
}
