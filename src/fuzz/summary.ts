/** The end of a fuzz run in words: what ran, each distinct failure once, and where it was written. */
import path from "node:path";
import { sameCrash } from "./crash-signature.js";
import type { FuzzSummary } from "./fuzz-run.js";
import { formatDuration } from "./progress.js";

export function renderSummary(s: FuzzSummary, cwd: string): string {
  const rate = s.elapsedMs > 0 ? (s.cases * 1000) / s.elapsedMs : 0;
  const stopped = { count: "", time: ", time limit reached", signal: ", interrupted" }[s.stoppedBy];
  const lines = [
    `blockcheck fuzz: ${s.cases} ${s.cases === 1 ? "case" : "cases"} in ${formatDuration(s.elapsedMs)} (${rate.toFixed(1)} cases/s), seed ${s.seed}, engine ${s.engines.join("+")}${stopped}`,
  ];
  const show = (p: string) => path.relative(cwd, p) || p;
  if (s.findings.length === 0) lines.push("nothing found");
  else {
    const total = s.findings.reduce((a, f) => a + f.count, 0);
    lines.push(`${s.findings.length} distinct ${s.findings.length === 1 ? "failure" : "failures"} in ${total} ${total === 1 ? "case" : "cases"}:`);
    s.findings.forEach((f, i) => {
      lines.push(`  ${f.cls}: ${f.summary}`);
      // One bug reached from two commands is two findings; say so.
      const twin = s.findings.slice(0, i).find((g) => f.crash && g.crash && sameCrash(f.crash, g.crash));
      if (twin) lines.push(`    the same crash as the one in ${twin.crash!.command} above, reached from another command`);
      const found = `${f.count} ${f.count === 1 ? "case" : "cases"}, first case ${f.caseIndex} (case seed 0x${f.caseSeed.toString(16)}) after ${formatDuration(f.foundAtMs)}`;
      lines.push(`    ${found}`);
      if (f.notReproduced) lines.push("    did not fail the same way when run again: not shrunk");
      if (f.flaky) lines.push(`    flaky: ${f.flaky}`);
      if (f.shrunk) {
        const stopped = f.shrunk.stoppedAtTimeLimit ? ", stopped at the time limit" : "";
        lines.push(`    shrunk from ${f.shrunk.from} to ${f.shrunk.to} statements (${f.shrunk.runs} candidates tested${stopped}), done after ${formatDuration(f.shrunk.doneAtMs)}`);
      }
      if (f.written) {
        const w = f.written;
        const checks = [w.passesOnReference ? `passes on the ${w.reference}` : `does NOT pass on the ${w.reference}`, w.reproduces ? "still fails the same way" : "does NOT fail the same way any more"];
        lines.push(`    written: ${show(w.scn)}${w.out ? ` and ${path.basename(w.out)}` : ""} (${checks.join(", ")})`);
      }
    });
  }
  if (s.known.length > 0) {
    lines.push("QEMU crashes the model predicts (known, not findings):");
    for (const k of s.known) lines.push(`  ${k.signature} (${k.count} ${k.count === 1 ? "case" : "cases"})`);
  }
  if (s.retried > 0) lines.push(`${s.retried} ${s.retried === 1 ? "case" : "cases"} passed when run again after the qemu engine failed`);
  return lines.join("\n") + "\n";
}
