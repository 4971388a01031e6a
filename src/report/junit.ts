/**
 * JUnit XML, as CI systems read it: one `<testsuite>` per engine, one `<testcase>` per scenario run,
 * `<failure>` with the full failure text, `<skipped>` with the reason. Written at the end of the run.
 * XML 1.0 cannot carry most control characters even as references, so they are written as `\uXXXX`.
 */
import { stripVTControlCharacters } from "node:util";
import type { Reporter } from "../runner/reporter.js";
import type { RunSummary, ScenarioResult } from "../runner/results.js";
import { renderFailure } from "./console.js";
import type { ReporterContext } from "./reporter.js";

/** Build a JUnit XML reporter writing to `ctx.out`. */
export function junitReporter(ctx: ReporterContext): Reporter {
  return {
    onRunEnd(summary) {
      ctx.out.write(renderJunit(summary));
    },
  };
}

/** The whole XML document. */
export function renderJunit(summary: RunSummary): string {
  const engines = [...new Set(summary.results.map((r) => r.engine))].sort();
  const out = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(`<testsuites name="blockcheck" ${counts(summary.results)} time="${secs(summary.durationMs)}">`);
  for (const engine of engines) {
    const rs = summary.results.filter((r) => r.engine === engine);
    const time = rs.reduce((t, r) => t + r.durationMs, 0);
    out.push(`  <testsuite name="${engine}" ${counts(rs)} time="${secs(time)}">`);
    for (const r of rs) out.push(testcase(r));
    out.push("  </testsuite>");
  }
  out.push("</testsuites>");
  return out.join("\n") + "\n";
}

function counts(rs: readonly ScenarioResult[]): string {
  const n = (s: string) => rs.filter((r) => r.status === s).length;
  return `tests="${rs.length}" failures="${n("fail")}" errors="0" skipped="${n("skip")}"`;
}

function testcase(r: ScenarioResult): string {
  const head = `    <testcase classname="${attr(r.name.replace(/\//g, "."))}" name="${attr(r.id)}" file="${attr(r.file)}" time="${secs(r.durationMs)}"`;
  if (r.status === "pass") return `${head}/>`;
  if (r.status === "skip") return `${head}>\n      <skipped message="${attr(r.skipReason ?? "skipped")}"/>\n    </testcase>`;
  const message = r.failures[0]?.message ?? "failed";
  const body = text(stripVTControlCharacters(renderFailure(r)));
  return `${head}>\n      <failure message="${attr(message)}" type="${attr(r.failures[0]?.kind ?? "failure")}">${body}</failure>\n    </testcase>`;
}

function secs(ms: number): string {
  return (ms / 1000).toFixed(3);
}

/** Escape for element content. */
export function text(s: string): string {
  return controls(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Escape for a double-quoted attribute value (newlines and tabs kept as character references). */
export function attr(s: string): string {
  return text(s)
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;")
    .replace(/\n/g, "&#10;")
    .replace(/\r/g, "&#13;")
    .replace(/\t/g, "&#9;");
}

/** Characters XML 1.0 forbids → visible `\uXXXX`. */
function controls(s: string): string {
  return s.replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
