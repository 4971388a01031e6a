/**
 * Shrinking a failing scenario to a small one that still fails the same way: delta debugging over
 * its statements, then over the parts of each statement (options, block nodes and entries; see
 * reduce-parts.ts), then statements again, until nothing more can go or the budget of test runs is
 * spent. Each candidate is tested by running it; one the scenario checker rejects (a statement that
 * names a node whose `add` was cut) fails at no cost, without running.
 */
import { ddmin, firstPassing } from "./ddmin.js";
import { bypassesOf, statementVariants } from "./reduce-parts.js";
import type { FuzzScenario, FuzzStatement } from "./scenario-ir.js";

export interface ShrinkOptions {
  /** Whether the candidate still fails the same way. */
  test: (candidate: FuzzScenario) => Promise<boolean>;
  /** Whether the candidate is a scenario at all (checked first, and free of the budget). */
  valid: (candidate: FuzzScenario) => boolean;
  /** At most this many candidates are run. */
  budget: number;
  /** Candidates run at once. */
  parallel?: number;
  /** Index of the statement the failure happened in, if known: everything after it is tried away first. */
  failedAt?: number;
  signal?: AbortSignal;
}

export interface ShrinkResult {
  scenario: FuzzScenario;
  /** Candidates run (cached repeats not counted). */
  runs: number;
}

export async function shrinkScenario(start: FuzzScenario, opts: ShrinkOptions): Promise<ShrinkResult> {
  const seen = new Map<string, Promise<boolean>>();
  let runs = 0;
  const exhausted = () => runs >= opts.budget || opts.signal?.aborted === true;
  const parallel = Math.max(1, opts.parallel ?? 1);
  const test = (statements: readonly FuzzStatement[]): Promise<boolean> => {
    const key = JSON.stringify(statements);
    let r = seen.get(key);
    if (r === undefined) {
      const candidate = { seed: start.seed, statements: [...statements] };
      if (!opts.valid(candidate)) r = Promise.resolve(false);
      else if (exhausted()) return Promise.resolve(false);
      else {
        runs++;
        r = opts.test(candidate);
      }
      seen.set(key, r);
    }
    return r;
  };

  let statements = [...start.statements];
  if (opts.failedAt !== undefined && opts.failedAt + 1 < statements.length) {
    const cut = statements.slice(0, opts.failedAt + 1);
    if (await test(cut)) statements = cut;
  }
  for (;;) {
    const before = JSON.stringify(statements);
    statements = await ddmin(statements, { test, parallel, exhausted });
    statements = await shrinkParts(statements, test, parallel, exhausted);
    if (exhausted() || JSON.stringify(statements) === before) break;
  }
  return { scenario: { seed: start.seed, statements }, runs };
}

/** Replace statements by smaller versions of themselves while the scenario still fails. */
async function shrinkParts(
  start: FuzzStatement[],
  test: (s: readonly FuzzStatement[]) => Promise<boolean>,
  parallel: number,
  exhausted: () => boolean,
): Promise<FuzzStatement[]> {
  let statements = start;
  for (let i = 0; i < statements.length && !exhausted(); ) {
    const bypasses = bypassesOf(statements);
    const candidates = statementVariants(statements[i]!, bypasses).map((v) => [...statements.slice(0, i), v, ...statements.slice(i + 1)]);
    const found = await firstPassing(candidates, test, parallel, exhausted);
    if (found) statements = found;
    else i++;
  }
  return statements;
}
