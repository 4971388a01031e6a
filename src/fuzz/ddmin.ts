/**
 * Delta debugging (Zeller and Hildebrandt's ddmin), in the complement form: cut the list into n
 * chunks and try it without each chunk; when one still fails keep that and cut coarser, else cut
 * finer, until single items cannot go. The result is 1-minimal: removing any one item passes.
 *
 * Candidates of one round may be tested in parallel; the first failing one in list order wins, so
 * the result does not depend on how many run at once (tests are assumed deterministic).
 */

export interface DdminOptions<T> {
  /** Whether the list still fails. */
  test: (items: readonly T[]) => Promise<boolean>;
  /** Candidates tested at once (default 1). */
  parallel?: number;
  /** Stop early (keeping what is reduced so far) when this says so. */
  exhausted?: () => boolean;
}

function chunks<T>(items: readonly T[], n: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) out.push([Math.floor((i * items.length) / n), Math.floor(((i + 1) * items.length) / n)]);
  return out.filter(([a, b]) => b > a);
}

/** The first candidate (in order) that `test` accepts, testing `parallel` at a time. */
export async function firstPassing<C>(candidates: readonly C[], test: (c: C) => Promise<boolean>, parallel: number, exhausted?: () => boolean): Promise<C | undefined> {
  for (let i = 0; i < candidates.length; i += parallel) {
    if (exhausted?.()) return undefined;
    const batch = candidates.slice(i, i + parallel);
    const results = await Promise.all(batch.map((c) => test(c)));
    const j = results.indexOf(true);
    if (j >= 0) return batch[j];
  }
  return undefined;
}

export async function ddmin<T>(start: readonly T[], opts: DdminOptions<T>): Promise<T[]> {
  let items = [...start];
  let n = 2;
  while (items.length >= 2 && !opts.exhausted?.()) {
    const candidates = chunks(items, n).map(([a, b]) => [...items.slice(0, a), ...items.slice(b)]);
    const found = await firstPassing(candidates, opts.test, Math.max(1, opts.parallel ?? 1), opts.exhausted);
    if (found) {
      items = found;
      n = Math.max(n - 1, 2);
    } else if (n >= items.length) {
      break;
    } else {
      n = Math.min(n * 2, items.length);
    }
  }
  return items;
}
