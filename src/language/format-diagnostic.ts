/**
 * The one text layout of a diagnostic, like rustc and gcc:
 *
 *     tests/x.scn:3:8: error: unknown driver 'qcw2'
 *       3 | add top: qcw2 file=f0
 *         |          ^^^^
 *       = note: did you mean 'qcow2'?
 *
 * The carets span the located token (to the end of its first line when it spans lines); tabs in
 * the echoed line become single spaces so the carets stay aligned.
 */
import type { Diagnostic } from "./diagnostic.js";

/** Renders `d` against the text of the file it points into; ends with a newline. */
export function formatDiagnostic(d: Diagnostic, sourceText: string): string {
  const { start, end } = d.location;
  const header = `${d.location.source}:${start.line}:${start.column}: ${d.severity}: ${d.message}`;
  const lineText = (sourceText.split(/\r\n|\r|\n/)[start.line - 1] ?? "").replace(/\t/g, " ");
  const gutter = String(start.line).length;
  const last = end.line === start.line ? end.column : lineText.length + 1;
  const width = Math.max(1, last - start.column);
  const lines = [
    header,
    `  ${String(start.line)} | ${lineText}`,
    `  ${" ".repeat(gutter)} | ${" ".repeat(start.column - 1)}${"^".repeat(width)}`,
    ...d.notes.map((n) => `  ${" ".repeat(gutter)} = note: ${n}`),
  ];
  return lines.join("\n") + "\n";
}

/** Every diagnostic of one file, in order, each formatted. */
export function formatDiagnostics(diagnostics: readonly Diagnostic[], sourceText: string): string {
  return diagnostics.map((d) => formatDiagnostic(d, sourceText)).join("");
}
