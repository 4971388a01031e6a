/**
 * Reopen option tracking, as qemu-iotests 245's `reopen()` helper does it: blockdev-reopen resets
 * every option it is not given, so the runner keeps each node's options as added (nested, as sent),
 * applies a reopen's changes to a copy (dotted keys walk into sub-dictionaries) and sends the full
 * set; only after QEMU accepts the reopen does the copy become the tracked options.
 *
 * Two sets are kept per node: the current options (what the last successful add or reopen sent),
 * which `reopen NODE …` builds on, and the add-time options, which `reopen fresh NODE …` builds on
 * every time, as 245's reopen(opts, newopts) does with its unchanging `opts`.
 */

export type QDict = Record<string, unknown>;

export class OptionTracker {
  private readonly byNode = new Map<string, QDict>();
  private readonly addedByNode = new Map<string, QDict>();

  /** Record a successful blockdev-add: the root and every inline child that has a node-name. */
  recordAdd(options: QDict): void {
    const visit = (dict: QDict) => {
      if (typeof dict["node-name"] === "string") {
        this.byNode.set(dict["node-name"], cloneOptions(dict));
        this.addedByNode.set(dict["node-name"], cloneOptions(dict));
      }
      for (const v of Object.values(dict)) if (isDict(v) && typeof v.driver === "string") visit(v);
    };
    visit(options);
  }

  /** A copy of the node's tracked options, or undefined for nodes never added by name. */
  get(nodeName: string): QDict | undefined {
    const o = this.byNode.get(nodeName);
    return o ? cloneOptions(o) : undefined;
  }

  /** A copy of the options the node was added with, whatever reopens did since; undefined as for get(). */
  added(nodeName: string): QDict | undefined {
    const o = this.addedByNode.get(nodeName);
    return o ? cloneOptions(o) : undefined;
  }

  /** After a successful reopen: the options sent become the node's options. */
  set(nodeName: string, options: QDict): void {
    this.byNode.set(nodeName, cloneOptions(options));
  }

  /** After blockdev-del. */
  forget(nodeName: string): void {
    this.byNode.delete(nodeName);
    this.addedByNode.delete(nodeName);
  }
}

/** Where a dotted key cannot be applied: `file.x` when `file` is a node reference. */
export class DeltaConflict {
  constructor(
    readonly key: string,
    readonly prefix: string,
    readonly existing: unknown,
  ) {}
}

/**
 * Apply `key=value` changes to a copy of `base`. `file.aio=threads` sets `base.file.aio`; a missing
 * sub-dictionary is created; a prefix holding a non-dictionary (a node reference) is a conflict.
 */
export function applyDelta(base: QDict, delta: ReadonlyArray<readonly [string, unknown]>): QDict | DeltaConflict {
  const out = cloneOptions(base);
  for (const [key, value] of delta) {
    const parts = key.split(".");
    let dict = out;
    for (let i = 0; i < parts.length - 1; i++) {
      const p = parts[i]!;
      const next = dict[p];
      if (next === undefined) dict[p] = {};
      else if (!isDict(next)) return new DeltaConflict(key, parts.slice(0, i + 1).join("."), next);
      dict = dict[p] as QDict;
    }
    dict[parts[parts.length - 1]!] = value;
  }
  return out;
}

export function isDict(v: unknown): v is QDict {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * A deep copy of options as the scenario language builds them: objects, arrays and primitives.
 * structuredClone did the same through V8's serializer, at several times the cost, for every
 * node on every add and reopen.
 */
function cloneOptions<T>(value: T): T {
  if (Array.isArray(value)) return value.map(cloneOptions) as T;
  if (!isDict(value)) return value;
  const out: QDict = {};
  for (const key of Object.keys(value)) out[key] = cloneOptions(value[key]);
  return out as T;
}
