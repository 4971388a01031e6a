import { BlockcheckError } from "../errors.js";
import type { Diagnostic } from "./diagnostic.js";

/**
 * A scenario that cannot be used as it is. Carries every diagnostic found, so whoever catches it
 * (the runner, `blockcheck check`) can print them all with formatDiagnostic().
 */
export class ScenarioError extends BlockcheckError {
  /** All problems found, in source order; never empty. */
  readonly diagnostics: readonly Diagnostic[];
  /**
   * The text to echo the diagnostics' lines from, when the catcher cannot use its own (a file that
   * is not text: its bytes, made printable).
   */
  readonly sourceText: string | undefined;

  constructor(diagnostics: readonly Diagnostic[], options?: { cause?: unknown; sourceText?: string }) {
    const first = diagnostics[0];
    const where = first ? `${first.location.source}:${first.location.start.line}:${first.location.start.column}: ` : "";
    const more = diagnostics.length > 1 ? ` (and ${diagnostics.length - 1} more)` : "";
    super("E_SCENARIO", `${where}${first?.message ?? "invalid scenario"}${more}`, options && "cause" in options ? { cause: options.cause } : undefined);
    this.diagnostics = diagnostics;
    this.sourceText = options?.sourceText;
  }
}
