import { BlockcheckError } from "../errors.js";
import type { Diagnostic } from "./diagnostic.js";

/**
 * A scenario that cannot be used as it is. Carries every diagnostic found, so whoever catches it
 * (the runner, `blockcheck check`) can print them all with formatDiagnostic().
 */
export class ScenarioError extends BlockcheckError {
  /** All problems found, in source order; never empty. */
  readonly diagnostics: readonly Diagnostic[];

  constructor(diagnostics: readonly Diagnostic[], options?: { cause?: unknown }) {
    const first = diagnostics[0];
    const where = first ? `${first.location.source}:${first.location.start.line}:${first.location.start.column}: ` : "";
    const more = diagnostics.length > 1 ? ` (and ${diagnostics.length - 1} more)` : "";
    super("E_SCENARIO", `${where}${first?.message ?? "invalid scenario"}${more}`, options);
    this.diagnostics = diagnostics;
  }
}
