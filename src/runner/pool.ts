/** Running tasks with bounded concurrency; `stop()` lets running tasks finish and starts no more. */

export interface PoolControl {
  /** Start no further tasks (for --bail). */
  stop(): void;
}

/**
 * Run `work` over `items` with at most `jobs` at a time, starting them in order (`index` is the
 * item's place in `items`); resolves to the number of items never started.
 */
export async function runPool<T>(
  items: readonly T[],
  jobs: number,
  work: (item: T, control: PoolControl, index: number) => Promise<void>,
): Promise<number> {
  let next = 0;
  let stopped = false;
  const control: PoolControl = { stop: () => void (stopped = true) };
  const lane = async () => {
    while (!stopped && next < items.length) {
      const index = next++;
      await work(items[index]!, control, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, lane));
  return items.length - next;
}
