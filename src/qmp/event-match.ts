/**
 * Which QMP events a waiter wants: a name, and optionally a partial object the event's data must
 * contain, as QEMU's Python library matches them (python/qemu/machine/machine.py `event_match`):
 * every key of the match must be present with a matching value, recursively; `null` in the match
 * accepts any value (so, as there, a null cannot be asked for). Arrays, which that code does not
 * define sensibly, match element by element and must have the same length.
 */
import type { QmpEvent } from "./wire.js";

/** A partial event data object, e.g. `{ id: "e0" }` or `{ status: "concluded" }`. */
export type QmpEventMatch = Record<string, unknown>;

/** Whether `event` is called `name` and its data contains `match` (no match: any such event). */
export function eventMatches(event: QmpEvent, name: string, match?: QmpEventMatch): boolean {
  return event.event === name && (match === undefined || contains(event.data ?? {}, match));
}

function contains(value: unknown, pattern: unknown): boolean {
  if (pattern === null) return true;
  if (Array.isArray(pattern)) {
    return Array.isArray(value) && value.length === pattern.length && pattern.every((p, i) => contains(value[i], p));
  }
  if (typeof pattern === "object") {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
    const record = value as Record<string, unknown>;
    return Object.entries(pattern as Record<string, unknown>).every(([k, p]) => Object.hasOwn(record, k) && contains(record[k], p));
  }
  return value === pattern;
}
