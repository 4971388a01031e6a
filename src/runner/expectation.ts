/**
 * Matching a step's outcome against its expectation. No expectation (or `-> ok`) means the step must
 * succeed; `-> error "text"` wants exactly that (normalized) message; `-> error /re/` a match; an
 * unexpected success is its own failure.
 */
import type { Expectation } from "../language/ast.js";

/** What a step did: succeeded, or failed with a normalized message. */
export type Outcome = { ok: true } | { ok: false; desc: string };

/** A failure message, or undefined when the outcome is what was expected. */
export function checkExpectation(exp: Expectation | undefined, outcome: Outcome): string | undefined {
  if (!exp || exp.type === "ok") {
    return outcome.ok ? undefined : `expected success, got error: ${outcome.desc}`;
  }
  const m = exp.match;
  const wanted = m.type === "exact" ? `error ${JSON.stringify(m.text)}` : `error /${m.pattern}/${m.flags}`;
  if (outcome.ok) return `expected ${wanted}, but the step succeeded`;
  const matches = m.type === "exact" ? outcome.desc === m.text : new RegExp(m.pattern, m.flags).test(outcome.desc);
  return matches ? undefined : `expected ${wanted}, got error ${JSON.stringify(outcome.desc)}`;
}

/** The transcript line for an outcome. */
export function outcomeLine(outcome: Outcome): string {
  return outcome.ok ? "ok" : `error: ${outcome.desc}`;
}
