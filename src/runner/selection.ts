/** Choosing which scenario instances run: tags, a name filter, and sharding. */
import { UsageError } from "../errors.js";
import type { ScenarioInstance } from "./instance.js";

export interface SelectionOptions {
  /** Run only instances with at least one of these tags (none: no tag filter). */
  tags: readonly string[];
  /** Never run instances with any of these tags. */
  excludeTags: readonly string[];
  /** Substring of `name[suffix]` (case-sensitive). */
  filter?: string;
  /** `{index, count}`: this shard (1-based) of `count`. */
  shard?: Shard;
}

export interface Shard {
  index: number;
  count: number;
}

/** Parse `I/N` (1 ≤ I ≤ N). */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index < 1 || index > count) {
    throw new UsageError(`--shard takes I/N with 1 <= I <= N, e.g. 2/4 (got '${text}')`);
  }
  return { index, count };
}

/** The instances to run, in their given order; sharding deals them round-robin after filtering. */
export function select<I extends Pick<ScenarioInstance, "name" | "suffix" | "tags">>(instances: readonly I[], opts: SelectionOptions): I[] {
  const picked = instances.filter((i) => {
    if (opts.tags.length > 0 && !i.tags.some((t) => opts.tags.includes(t))) return false;
    if (i.tags.some((t) => opts.excludeTags.includes(t))) return false;
    if (opts.filter !== undefined && !displayName(i).includes(opts.filter)) return false;
    return true;
  });
  if (!opts.shard) return picked;
  const { index, count } = opts.shard;
  return picked.filter((_, n) => n % count === index - 1);
}

/** `reopen/detach[fmt=qcow2]`. */
export function displayName(i: Pick<ScenarioInstance, "name" | "suffix">): string {
  return `${i.name}${i.suffix ? `[${i.suffix}]` : ""}`;
}

/** Whether no filter is set (every instance of the chosen files runs). */
export function isUnfiltered(s: SelectionOptions): boolean {
  return s.tags.length === 0 && s.excludeTags.length === 0 && s.filter === undefined && s.shard === undefined;
}

/** The filters as they were written on the command line, e.g. `--tag slow -k detach`. */
export function describeFilters(s: SelectionOptions): string {
  const parts = [
    ...s.tags.map((t) => `--tag ${t}`),
    ...s.excludeTags.map((t) => `--exclude-tag ${t}`),
    ...(s.filter !== undefined ? [`-k ${JSON.stringify(s.filter)}`] : []),
    ...(s.shard ? [`--shard ${s.shard.index}/${s.shard.count}`] : []),
  ];
  return parts.join(" ");
}
