/**
 * Diagnostics: every problem the parser or the validator finds in a scenario, in one shape.
 */
import type { Location } from "./ast.js";

/** One problem in a scenario file, located at the token it is about. */
export interface Diagnostic {
  severity: "error";
  /** One line, lower case, no trailing period: "unknown driver 'qcw2'". */
  message: string;
  /** The span the carets underline; `source` is the file name. */
  location: Location;
  /** Extra lines shown as `= note: …` (did-you-mean, expected tokens). */
  notes: string[];
}

/** An error diagnostic at `location`. */
export function error(message: string, location: Location, notes: string[] = []): Diagnostic {
  return { severity: "error", message, location, notes };
}

/** Source order (by offset, then message), without exact duplicates. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  const unique = diagnostics.filter((d) => {
    const key = `${d.location.start.offset}:${d.location.end.offset}:${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return unique.sort(
    (a, b) => a.location.start.offset - b.location.start.offset || (a.message < b.message ? -1 : a.message > b.message ? 1 : 0),
  );
}
