/**
 * A pending change split into hunks, so that review can take some and leave others (`git add -p`
 * for goldens). The hunks are jsdiff's structured patch of golden → pending; taking a subset is
 * applying a patch that holds only those hunks to the golden.
 */
import { applyPatch, structuredPatch, type StructuredPatchHunk } from "diff";

/** Lines of context around each hunk, as in the run's diffs. */
const CONTEXT_LINES = 3;

export type Hunk = StructuredPatchHunk;

/** The hunks that turn `golden` into `pending` (none when they are equal). */
export function hunksOf(golden: string, pending: string): Hunk[] {
  return structuredPatch("golden", "pending", golden, pending, undefined, undefined, { context: CONTEXT_LINES }).hunks;
}

/**
 * `golden` with the chosen hunks applied (hunks of hunksOf(golden, …), in their order). The hunks
 * come from this very text, so they always apply; anything else is a bug.
 */
export function applyHunks(golden: string, hunks: readonly Hunk[]): string {
  if (hunks.length === 0) return golden;
  const patched = applyPatch(golden, { oldFileName: "golden", newFileName: "pending", oldHeader: undefined, newHeader: undefined, hunks: [...hunks] });
  if (patched === false) throw new Error("a hunk of this golden's own diff did not apply");
  return patched;
}

/** What a review decided for each hunk of one pending change. */
export type HunkDecision = "accept" | "reject" | "skip";

/** The golden and the pending file after a review of one change. */
export interface ReviewedChange {
  /** The golden's new text (the accepted hunks applied), or undefined when none was accepted. */
  golden?: string;
  /** What stays pending (the golden's new text plus the skipped hunks), or undefined when nothing does. */
  pending?: string;
}

/** Apply `decisions` (one per hunk of hunksOf(golden, …)) to `golden`. */
export function applyDecisions(golden: string, hunks: readonly Hunk[], decisions: readonly HunkDecision[]): ReviewedChange {
  const accepted = hunks.filter((_, i) => decisions[i] === "accept");
  const kept = hunks.filter((_, i) => decisions[i] === "accept" || decisions[i] === "skip");
  return {
    ...(accepted.length > 0 ? { golden: applyHunks(golden, accepted) } : {}),
    ...(kept.length > accepted.length ? { pending: applyHunks(golden, kept) } : {}),
  };
}
