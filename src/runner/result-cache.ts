/**
 * Model results kept across runs, in the project's `.blockcheck/results.json`: a scenario file whose
 * bytes, goldens and run options are what they were when it last passed is not run again on the
 * model, and reports that pass marked as cached (as `go test` does). The model is a pure function of
 * the build and the scenario, so a whole corpus is checked on every save at the cost of a `stat` per
 * file, and only what changed runs.
 *
 * What an entry depends on, and how each is checked:
 * - the build (the bundle's hash) and the Node version: the whole file is dropped when they differ;
 * - the file's bytes, path and scenario name, the options that change an outcome (the golden root,
 *   the timeout, --allow-unsafe) and the host's memory (the model asks it, as QEMU does, before a
 *   huge allocation): the entry's key, a SHA-256 of them all;
 * - each run's golden: the SHA-256 of the golden it matched, and the absence of an engine-specific
 *   golden where the run matched the common one.
 * A file's bytes (scenario or golden) are read and hashed again on every hit unless its stat is the
 * stamp kept beside the hash, which is only kept for a file settled before the run (file-stamp.ts).
 * Only files whose every run passed or was skipped, all in one run, are kept. QEMU runs, runs of both
 * engines, CI, --keep-scratch, --pictures and --trace never use it; BLOCKCHECK_CACHE=off neither.
 * A file that cannot be read or parsed is an empty cache; a write is atomic and costs only itself.
 */
import { createHash, type Hash } from "node:crypto";
import { readdirSync, readFileSync, statSync, unlinkSync, type Stats } from "node:fs";
import os from "node:os";
import path from "node:path";
import { commonGoldenPath, engineGoldenPath, resolveGoldenPath } from "../golden/paths.js";
import { pendingKindOf, pendingPath, recordPath } from "../golden/pending.js";
import { GoldenListing } from "../golden/listing.js";
import { writeAtomic } from "../golden/store.js";
import { scenarioName, type ScenarioFile } from "./discovery.js";
import { equalStamps, sameStamp, SETTLED_MS, stampOf, type FileStamp } from "./file-stamp.js";
import type { ScenarioInstance } from "./instance.js";
import { relativePath } from "../relative-path.js";
import { resultId, type ScenarioResult } from "./results.js";

/** Changes when what an entry holds, or how it is checked, does. */
const FORMAT = "blockcheck model results 2";

/** A run as kept: the instance's plan and its outcome. */
interface KeptRun {
  suffix: string;
  bindings: Array<[string, string]>;
  title?: string;
  tags: string[];
  status: "pass" | "skip";
  durationMs: number;
  skipReason?: string;
  /** The golden matched: relative to the golden root, its hash, its reason when engine-specific. */
  golden?: { rel: string; sha256: string; engineReason?: string; stamp?: FileStamp };
}

interface KeptFile {
  key: string;
  /** The SHA-256 of the file's bytes, and the stamp that stands for them (file-stamp.ts). */
  sha256: string;
  stamp?: FileStamp;
  runs: KeptRun[];
}

/** What a probe learnt of a file: its key, and how its bytes were known. */
interface Probed {
  key: string;
  sha256: string;
  stamp: FileStamp | undefined;
}

interface CacheFile {
  format: string;
  build: string;
  node: string;
  /** By the scenario file as shown (relative to the working directory). */
  files: Record<string, KeptFile>;
}

/** What changes an outcome besides the file: the run's options. */
export interface ResultCacheContext {
  buildId: string;
  cwd: string;
  goldenRoot: string;
  timeoutMs: number;
  allowUnsafe: boolean;
  /** The clock, for which files are settled enough to be stamped (tests move it on). */
  now?: () => number;
}

/** A file the cache answers for: its runs planned and done. */
export interface CachedFile {
  instances: Array<Omit<ScenarioInstance, "scenario">>;
  /** By resultId, each marked `cached`. */
  results: Map<string, ScenarioResult>;
}

export class ResultCache {
  readonly #context: ResultCacheContext;
  readonly #files: Map<string, KeptFile>;
  /** This run's key of each file probed, by the file as shown. */
  readonly #probed = new Map<string, Probed>();
  /** Where an engine-specific golden may be: listed once per directory, not a stat per file. */
  readonly #listing = new GoldenListing();
  /** Files changed since this are not stamped (file-stamp.ts). */
  readonly #settledBefore: number;
  /** By golden directory: its pending files and records (#pendingIn). */
  readonly #pending = new Map<string, Set<string>>();
  /** The hash of everything in a key but the file: copied for each file. */
  #prefix: Hash | undefined;
  #changed = false;

  private constructor(context: ResultCacheContext, files: Map<string, KeptFile>) {
    this.#context = context;
    this.#files = files;
    this.#settledBefore = (context.now ?? Date.now)() - SETTLED_MS;
  }

  /** The cache in `file`; empty when there is none, it cannot be read, or another build wrote it. */
  static read(file: string, context: ResultCacheContext): ResultCache {
    let files = new Map<string, KeptFile>();
    try {
      const data = JSON.parse(readFileSync(file, "utf8")) as Partial<CacheFile>;
      if (data.format === FORMAT && data.build === context.buildId && data.node === process.version && isRecord(data.files)) {
        files = new Map(Object.entries(data.files));
      }
    } catch {
      // No cache yet, or a damaged one: every file runs, and the next write replaces it.
    }
    return new ResultCache(context, files);
  }

  /**
   * The file's runs if they are known to pass as they are, else undefined. Either way the file's
   * key is kept, so that the runs it is about to have can be recorded.
   */
  probe(f: ScenarioFile): CachedFile | undefined {
    const shown = relativePath(this.#context.cwd, f.abs) || f.abs;
    const name = scenarioName(f.rel);
    const kept = this.#files.get(shown);
    const probed = this.#probeBytes(f.abs, shown, name, kept);
    // Loading it reports why it cannot be read.
    if (probed === undefined) return undefined;
    this.#probed.set(shown, probed);
    if (kept?.key !== probed.key) return undefined;
    if (probed.stamp !== undefined && !equalStamps(probed.stamp, kept.stamp)) {
      kept.stamp = probed.stamp;
      this.#changed = true;
    }
    const instances: CachedFile["instances"] = [];
    const results = new Map<string, ScenarioResult>();
    for (const run of kept.runs) {
      const inst = { file: shown, name, suffix: run.suffix, bindings: run.bindings, ...(run.title !== undefined ? { title: run.title } : {}), tags: run.tags };
      if (run.status === "pass" && !this.#goldenHolds(inst, run.golden)) return undefined;
      instances.push(inst);
      results.set(resultId(name, run.suffix, "model"), resultOf(inst, run, this.#context));
    }
    return { instances, results };
  }

  /**
   * Remove what a passing run removes: the pending files of the golden it matched (golden/check.ts).
   * A pending file another engine wrote is gone after a passing model run; so it is after a cached one.
   */
  settle(result: ScenarioResult): void {
    if (result.golden === undefined) return;
    const golden = path.resolve(this.#context.cwd, result.golden.file);
    const present = this.#pendingIn(path.dirname(golden));
    if (present.size === 0) return;
    for (const kind of ["mismatch", "new"] as const) {
      const file = pendingPath(golden, kind);
      // The record first, as removePending does: a body left without one is refused by review.
      for (const f of [recordPath(file), file]) if (present.has(path.basename(f))) unlinkQuietly(f);
    }
  }

  /**
   * The pending files and records in a golden directory, listed once per run: a removal that finds
   * nothing costs an exception, and a cached run nearly never has anything to remove.
   */
  #pendingIn(dir: string): Set<string> {
    let names = this.#pending.get(dir);
    if (names === undefined) {
      names = new Set();
      try {
        for (const n of readdirSync(dir)) if (pendingKindOf(n.endsWith(".json") ? n.slice(0, -".json".length) : n)) names.add(n);
      } catch {
        // No directory, no pending file.
      }
      this.#pending.set(dir, names);
    }
    return names;
  }

  /**
   * Keep the runs of a file that was probed, if every one of its runs (`planned`) is among
   * `results` and passed or was skipped, and the file is still as it was probed.
   */
  record(shown: string, abs: string, planned: ReadonlyArray<Omit<ScenarioInstance, "scenario">>, results: ReadonlyMap<string, ScenarioResult>): void {
    const probed = this.#probed.get(shown);
    if (probed === undefined || planned.length === 0) return;
    const runs: KeptRun[] = [];
    for (const inst of planned) {
      const r = results.get(resultId(inst.name, inst.suffix, "model"));
      if (!r || (r.status !== "pass" && r.status !== "skip") || r.cached) return;
      const golden = r.status === "pass" ? this.#goldenNow(r) : undefined;
      if (r.status === "pass" && golden === undefined) return;
      runs.push({
        suffix: inst.suffix,
        bindings: inst.bindings,
        ...(inst.title !== undefined ? { title: inst.title } : {}),
        tags: inst.tags,
        status: r.status,
        durationMs: Math.round(r.durationMs),
        ...(r.skipReason !== undefined ? { skipReason: r.skipReason } : {}),
        ...(golden ? { golden } : {}),
      });
    }
    // The run loaded the file again: what it ran must be what was hashed.
    let bytes: Buffer;
    try {
      bytes = readFileSync(abs);
    } catch {
      return;
    }
    if (sha256(bytes) !== probed.sha256 || this.#key(shown, planned[0]!.name, probed.sha256) !== probed.key) return;
    this.#files.set(shown, { key: probed.key, sha256: probed.sha256, ...(probed.stamp ? { stamp: probed.stamp } : {}), runs });
    this.#changed = true;
  }

  /** Forget the files this run did not find (after a run of every scenario). */
  retainProbed(): void {
    for (const shown of [...this.#files.keys()]) {
      if (!this.#probed.has(shown)) {
        this.#files.delete(shown);
        this.#changed = true;
      }
    }
  }

  /** Write the cache to `file` if this run changed it. */
  async write(file: string): Promise<void> {
    if (!this.#changed) return;
    const files = Object.fromEntries([...this.#files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const data: CacheFile = { format: FORMAT, build: this.#context.buildId, node: process.version, files };
    await writeAtomic(file, JSON.stringify(data) + "\n");
    this.#changed = false;
  }

  /**
   * The key and content hash of the file at `abs`: from one stat when it is stamped as `kept`
   * says, else from its bytes. Undefined when it cannot be read.
   */
  #probeBytes(abs: string, shown: string, name: string, kept: KeptFile | undefined): Probed | undefined {
    let st: Stats | undefined;
    let bytes: Buffer;
    try {
      // The stat before the read: a write between them leaves a stamp older than the bytes, which
      // the next stat then finds changed.
      st = statSync(abs);
      if (kept !== undefined && sameStamp(st, kept.stamp)) {
        return { key: this.#key(shown, name, kept.sha256), sha256: kept.sha256, stamp: kept.stamp };
      }
      bytes = readFileSync(abs);
    } catch {
      return undefined;
    }
    const sha = sha256(bytes);
    return { key: this.#key(shown, name, sha), sha256: sha, stamp: stampOf(st, this.#settledBefore) };
  }

  #key(shown: string, name: string, contentSha: string): string {
    if (this.#prefix === undefined) {
      const c = this.#context;
      this.#prefix = createHash("sha256").update(JSON.stringify([FORMAT, c.buildId, process.version, os.totalmem(), c.goldenRoot, c.timeoutMs, c.allowUnsafe]));
    }
    return this.#prefix.copy().update(JSON.stringify([shown, name, contentSha])).digest("hex");
  }

  /** Whether the golden `golden` names is still the one a run of `inst` on the model compares with, unchanged. */
  #goldenHolds(inst: Pick<ScenarioInstance, "name" | "bindings">, golden: KeptRun["golden"]): boolean {
    if (golden === undefined) return false;
    try {
      // Both names come from paths.ts, whose encoding keeps them inside the golden root; the one
      // kept must be one of them.
      const specific = path.join(this.#context.goldenRoot, engineGoldenPath(inst, "model"));
      const expected = golden.engineReason === undefined ? commonGoldenPath(inst) : engineGoldenPath(inst, "model");
      if (golden.rel !== expected) return false;
      if (golden.engineReason === undefined && this.#listing.mayHold(specific) && statSync(specific, { throwIfNoEntry: false })) return false;
      const abs = path.join(this.#context.goldenRoot, expected);
      const st = statSync(abs);
      if (sameStamp(st, golden.stamp)) return true;
      if (sha256(readFileSync(abs)) !== golden.sha256) return false;
      const stamp = stampOf(st, this.#settledBefore);
      if (stamp !== undefined) {
        golden.stamp = stamp;
        this.#changed = true;
      }
      return true;
    } catch {
      return false;
    }
  }

  /** The golden a passing run matched, as it is on disk now (after --update wrote it). */
  #goldenNow(r: ScenarioResult): KeptRun["golden"] | undefined {
    if (r.golden === undefined || !["match", "created", "updated"].includes(r.golden.status)) return undefined;
    const abs = path.resolve(this.#context.cwd, r.golden.file);
    const rel = path.relative(this.#context.goldenRoot, abs).split(path.sep).join("/");
    if (rel.startsWith("../") || path.isAbsolute(rel)) return undefined;
    try {
      const st = statSync(abs);
      const sha = sha256(readFileSync(abs));
      const stamp = stampOf(st, this.#settledBefore);
      return { rel, sha256: sha, ...(r.golden.engineReason !== undefined ? { engineReason: r.golden.engineReason } : {}), ...(stamp ? { stamp } : {}) };
    } catch {
      return undefined;
    }
  }
}

/** The result a kept run reports. */
function resultOf(inst: CachedFile["instances"][number], run: KeptRun, context: ResultCacheContext): ScenarioResult {
  const golden = run.golden
    ? {
        golden: {
          file: relativePath(context.cwd, resolveGoldenPath(context.goldenRoot, run.golden.rel)),
          status: "match",
          ...(run.golden.engineReason !== undefined ? { engineReason: run.golden.engineReason } : {}),
        },
      }
    : {};
  return {
    id: resultId(inst.name, inst.suffix, "model"),
    file: inst.file,
    name: inst.name,
    suffix: inst.suffix,
    engine: "model",
    ...(inst.title !== undefined ? { title: inst.title } : {}),
    tags: inst.tags,
    status: run.status,
    durationMs: run.durationMs,
    failures: [],
    ...(run.skipReason !== undefined ? { skipReason: run.skipReason } : {}),
    ...golden,
    cached: true,
  };
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Gone meanwhile; one that cannot be removed is left for `review` to show.
  }
}

function isRecord(v: unknown): v is Record<string, KeptFile> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
