/**
 * QMP events as transcripts print them: the name, then the data's members as `key=value`, sorted by
 * key, with what timing decides left out, so that both engines, and every run, print the same line.
 *
 * ```
 * BLOCK_JOB_COMPLETED device=j0 len=3145728 offset=3145728 speed=0 type=stream
 * BLOCK_JOB_CANCELLED device=j0 speed=0 type=commit
 * BLOCK_JOB_PENDING id=j0 type=stream
 * ```
 *
 * Left out:
 * - `timestamp`, always;
 * - `len` and `offset` of BLOCK_JOB_CANCELLED, and of BLOCK_JOB_COMPLETED when it has an `error`:
 *   a job cancelled or failing mid-copy stops wherever its copy had got to. They are kept where
 *   the job's work is done: a successful BLOCK_JOB_COMPLETED (offset = len: every byte was
 *   handled) and BLOCK_JOB_READY (a mirror is ready once nothing is left to copy; with no guest
 *   writing, len is the bytes the first pass had to copy).
 *
 * Values: a string is written bare when it is a plain word, else as a JSON string; booleans as
 * on/off, as scenarios write them; numbers as they are; anything else as JSON with sorted keys.
 */
import type { QmpEvent } from "../qmp/wire.js";
import { stableJson } from "./normalize.js";

/** Members of an event's data that depend on timing, by event name. */
const TIMING_MEMBERS: Readonly<Record<string, (data: Record<string, unknown>) => readonly string[]>> = {
  BLOCK_JOB_CANCELLED: () => ["len", "offset"],
  BLOCK_JOB_COMPLETED: (data) => ("error" in data ? ["len", "offset"] : []),
};

/** The line for one event; `normalize` rewrites strings ($TEST_DIR, implicit node names). */
export function formatEvent(event: QmpEvent, normalize: (text: string) => string = (t) => t): string {
  const data = event.data ?? {};
  const drop = new Set(TIMING_MEMBERS[event.event]?.(data) ?? []);
  const members = Object.keys(data)
    .filter((k) => !drop.has(k))
    .sort()
    .map((k) => `${k}=${formatValue(data[k], normalize)}`);
  return [event.event, ...members].join(" ");
}

function formatValue(v: unknown, normalize: (text: string) => string): string {
  if (typeof v === "string") {
    const s = normalize(v);
    return /^[A-Za-z0-9_.\/:#@+$-]+$/.test(s) ? s : JSON.stringify(s);
  }
  if (typeof v === "boolean") return v ? "on" : "off";
  if (typeof v === "number") return String(v);
  return normalize(stableJson(v));
}
