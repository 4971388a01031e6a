/**
 * Pending goldens: transcripts waiting for a person to accept or reject them.
 *
 *   golden/P.out.bad        the transcript of a run that differed from golden/P.out
 *   golden/P.out.new        the transcript of a scenario that has no golden yet
 *   golden/P.out.bad.json   who wrote it (its provenance record), beside each of them
 *
 * The pending file's body is exactly what the golden would hold, so `diff P.out P.out.bad` shows
 * the change; everything else (engine, run, scenario, the golden it was compared with) is in the
 * record. A pending file is written only for a real transcript difference, never for a run that
 * did not finish (the runner decides that). The record is removed before a new body is written
 * and written after it, so a body is never paired with another run's record: a pending file
 * without a record is of unknown origin, and accept refuses it unless forced.
 */
import { createHash } from "node:crypto";
import path from "node:path";
import type { EngineKind } from "../engines/engine.js";
import { ENGINE_KINDS } from "../engines/engine.js";
import { readIfExists, removeIfExists, writeAtomic } from "./store.js";
import { walk } from "./walk.js";

/** Why a transcript is pending: it differs from its golden, or there is no golden yet. */
export type PendingKind = "mismatch" | "new";

const SUFFIX: Record<PendingKind, string> = { mismatch: ".bad", new: ".new" };
const RECORD = ".json";

/** Who wrote a pending file, and against what. */
export interface PendingRecord {
  kind: PendingKind;
  /** The engine whose transcript this is. */
  engine: EngineKind;
  /** That engine's QEMU version (the model's is the version it models), e.g. "7.2.22". */
  engineVersion?: string;
  /** The `blockcheck run` that wrote it: start time and process id. */
  run: string;
  /** The scenario file, relative to the project root. */
  scenario: string;
  /** The scenario run, e.g. `reopen/detach[fmt=raw]`. */
  instance: string;
  /** The golden it is for, relative to the golden root. */
  golden: string;
  /** The engine of an engine-specific golden (`P.model.out`); absent for the common golden. */
  goldenEngine?: EngineKind;
  /** sha256 of the golden the transcript was compared with (absent when there was none). */
  goldenSha256?: string;
}

/** A pending file found on disk. */
export interface PendingFile {
  kind: PendingKind;
  /** Absolute path of the pending file. */
  file: string;
  /** Absolute path of the golden it would become. */
  golden: string;
  /** Its provenance record, when there is a readable one. */
  record?: PendingRecord;
  /** Why the record is missing or unusable, when it is. */
  recordProblem?: string;
}

/** The pending file of `kind` beside a golden. */
export function pendingPath(golden: string, kind: PendingKind): string {
  return golden + SUFFIX[kind];
}

/** The provenance record beside a pending file. */
export function recordPath(pendingFile: string): string {
  return pendingFile + RECORD;
}

/** sha256 of a golden's text, as records hold it. */
export function textSha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** Write a pending file and its record (replacing any other pending file of this golden). */
export async function writePending(golden: string, kind: PendingKind, body: string, record: PendingRecord): Promise<string> {
  const file = pendingPath(golden, kind);
  await removePending(golden);
  await writeAtomic(file, body);
  await writeAtomic(recordPath(file), JSON.stringify(record, null, 2) + "\n");
  return file;
}

/** Remove every pending file of a golden, with its record; returns the files removed. */
export async function removePending(golden: string): Promise<string[]> {
  const removed: string[] = [];
  for (const kind of ["mismatch", "new"] as const) {
    const file = pendingPath(golden, kind);
    // The record first: a body left without one is refused, a record left without a body is inert.
    await removeIfExists(recordPath(file));
    if (await removeIfExists(file)) removed.push(file);
  }
  return removed;
}

/** Whether `file` is a pending file (`.out.bad`, `.out.new`) and of which kind. */
export function pendingKindOf(file: string): PendingKind | undefined {
  if (file.endsWith(".out.bad")) return "mismatch";
  if (file.endsWith(".out.new")) return "new";
  return undefined;
}

/** The golden a pending file would become. */
export function goldenOfPending(file: string): string {
  const kind = pendingKindOf(file);
  if (!kind) throw new Error(`not a pending file: ${file}`);
  return file.slice(0, -SUFFIX[kind].length);
}

/** Every pending file under the golden root, sorted, with its record. */
export async function findPending(goldenRoot: string): Promise<PendingFile[]> {
  const files: string[] = [];
  await walk(goldenRoot, (f) => {
    if (pendingKindOf(f)) files.push(f);
  });
  files.sort();
  const out: PendingFile[] = [];
  for (const file of files) out.push(await readPending(file));
  return out;
}

/** A pending file and its record. */
export async function readPending(file: string): Promise<PendingFile> {
  const kind = pendingKindOf(file)!;
  const golden = goldenOfPending(file);
  const text = await readIfExists(recordPath(file));
  if (text === undefined) return { kind, file, golden, recordProblem: `no record of which engine and run wrote it (${path.basename(recordPath(file))} is missing)` };
  const record = parseRecord(text);
  if (!record || record.kind !== kind) return { kind, file, golden, recordProblem: `its record ${path.basename(recordPath(file))} is not valid` };
  return { kind, file, golden, record };
}

function parseRecord(text: string): PendingRecord | undefined {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof data !== "object" || data === null) return undefined;
  const r = data as Record<string, unknown>;
  const isEngine = (v: unknown) => typeof v === "string" && (ENGINE_KINDS as readonly string[]).includes(v);
  if ((r.kind !== "mismatch" && r.kind !== "new") || !isEngine(r.engine)) return undefined;
  for (const key of ["run", "scenario", "instance", "golden"]) if (typeof r[key] !== "string") return undefined;
  if (r.goldenEngine !== undefined && !isEngine(r.goldenEngine)) return undefined;
  if (r.goldenSha256 !== undefined && typeof r.goldenSha256 !== "string") return undefined;
  return r as unknown as PendingRecord;
}
