import { PassThrough } from "node:stream";
import { formatDiagnostics, loadScenario, parseScenario, type Diagnostic, type Statement } from "../../src/language/index.js";

/** Parses `text` and fails the test if it has syntax errors; returns its statements. */
export function statements(text: string): Statement[] {
  const { scenario, diagnostics } = parseScenario(text, "t.scn");
  if (diagnostics.length > 0) throw new Error(formatDiagnostics(diagnostics, text));
  return scenario.statements;
}

/** The only statement of `text`. */
export function only<T extends Statement["type"]>(text: string, type: T): Extract<Statement, { type: T }> {
  const all = statements(text);
  if (all.length !== 1 || all[0]!.type !== type) throw new Error(`expected one ${type}, got ${all.map((s) => s.type).join(", ")}`);
  return all[0] as Extract<Statement, { type: T }>;
}

/** "LINE:COL message" for each diagnostic of loadScenario(text). */
export function problems(text: string): string[] {
  return loadScenario(text, "t.scn").diagnostics.map(brief);
}

export function brief(d: Diagnostic): string {
  return `${d.location.start.line}:${d.location.start.column} ${d.message}`;
}

/** In-memory streams for main()/commands, with what was written. */
export function fakeIo(cwd = process.cwd()) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (d) => (out += d));
  stderr.on("data", (d) => (err += d));
  return {
    io: { stdout, stderr, stdin: new PassThrough(), env: {}, cwd },
    out: () => out,
    err: () => err,
  };
}
