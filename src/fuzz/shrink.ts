/**
 * Shrinking a failing scenario to a small one that still fails the same way: delta debugging over
 * its statements, then over the parts of each statement (options, block nodes and entries; see
 * reduce-parts.ts), then statements again, until nothing more can go or the budget of test runs is
 * spent. A candidate the scenario checker rejects (a statement names a node whose `add` was cut) is
 * first repaired by leaving out what the checker rejects (repair.ts), so a statement goes together
 * with those that depend on it; what cannot be repaired fails at no cost. Each other candidate is
 * tested by running it.
 */
import { ddmin, firstPassing } from "./ddmin.js";
import { bypassesOf, statementVariants } from "./reduce-parts.js";
import type { FuzzScenario, FuzzStatement } from "./scenario-ir.js";

export interface ShrinkOptions {
  /** Whether the candidate still fails the same way. */
  test: (candidate: FuzzScenario) => Promise<boolean>;
  /**
   * The candidate as a scenario the checker accepts (statements that depend on what was cut left
   * out), or undefined when there is none; checked first, and free of the budget.
   */
  repair: (candidate: FuzzScenario) => FuzzScenario | undefined;
  /** At most this many candidates are tested. */
  budget: number;
  /** Candidates run at once. */
  parallel?: number;
  /** Index of the statement the failure happened in, if known: everything after it is tried away first. */
  failedAt?: number;
  signal?: AbortSignal;
  /** True once no more candidates may start (the run's time is up): the smallest so far is the result. */
  stop?: () => boolean;
}

export interface ShrinkResult {
  scenario: FuzzScenario;
  /** Candidates tested (repeats, and candidates the checker rejects, not counted). */
  runs: number;
  /** Set when `stop` ended the shrinking before it was done. */
  stopped?: true;
}

export async function shrinkScenario(start: FuzzScenario, opts: ShrinkOptions): Promise<ShrinkResult> {
  const seen = new Map<string, Promise<boolean>>();
  let runs = 0;
  let stopped = false;
  const exhausted = () => {
    if (!stopped && opts.stop?.()) stopped = true;
    return runs >= opts.budget || opts.signal?.aborted === true || stopped;
  };
  const parallel = Math.max(1, opts.parallel ?? 1);
  const repaired = (statements: readonly FuzzStatement[]) => opts.repair({ seed: start.seed, statements: [...statements] });
  const test = (statements: readonly FuzzStatement[]): Promise<boolean> => {
    const candidate = repaired(statements);
    if (!candidate) return Promise.resolve(false);
    const key = JSON.stringify(candidate.statements);
    let r = seen.get(key);
    if (r === undefined) {
      if (exhausted()) return Promise.resolve(false);
      runs++;
      r = opts.test(candidate);
      seen.set(key, r);
    }
    return r;
  };
  // The lists ddmin keeps may hold statements the repair leaves out; they go at the end of each pass.
  const settle = (statements: readonly FuzzStatement[]) => repaired(statements)?.statements ?? [...statements];

  let statements = [...start.statements];
  if (opts.failedAt !== undefined && opts.failedAt + 1 < statements.length) {
    const cut = statements.slice(0, opts.failedAt + 1);
    if (await test(cut)) statements = settle(cut);
  }
  for (;;) {
    const before = JSON.stringify(statements);
    statements = settle(await ddmin(statements, { test, parallel, exhausted }));
    statements = settle(await shrinkParts(statements, test, parallel, exhausted));
    if (exhausted() || JSON.stringify(statements) === before) break;
  }
  return { scenario: { seed: start.seed, statements }, runs, ...(stopped ? { stopped: true as const } : {}) };
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
