/**
 * Command sequences: what a test or a fixture sends (input steps) and what came back (recorded steps).
 *
 * Input steps may name implicit nodes by their path from a named node — `{"$node": "q0/backing/file"}`
 * anywhere in the arguments — and write the scratch directory as `$TEST_DIR` inside strings. A
 * recorded step keeps the arguments as sent, with `$TEST_DIR` restored and with each auto name it
 * used listed in `refs` (auto name → path), so a replay on another engine can translate it.
 */
import type { ImageSpec, QmpEvent, QmpReply } from "../../src/engines/engine.js";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Create an image in the scratch directory. */
export interface ImageStep {
  kind: "image";
  spec: ImageSpec;
}

/**
 * An event a step waits for once its command succeeded, because the work goes on after the reply
 * (a block job): `match` as waitEvent takes it. The events of that step are the awaited one first,
 * then the others in order, as for AWAITED_EVENT.
 */
export interface AwaitedEvent {
  event: string;
  match?: { [key: string]: Json };
}

/**
 * Where a step that can move a block job waits once its command succeeded: the job's
 * JOB_STATUS_CHANGE events, up to the first in `stops` (states QEMU rests in whatever the timing),
 * then the event QEMU sends last in that turn of its main loop (BLOCK_JOB_READY after a first READY,
 * BLOCK_JOB_PENDING after PENDING). The waited-for events come first in the step's events.
 */
export interface JobSettle {
  id: string;
  stops: string[];
}

/** One QMP command; `arguments` may hold `{"$node": path}` references and `$TEST_DIR`. */
export interface QmpStep {
  kind: "qmp";
  execute: string;
  arguments?: { [key: string]: Json };
  await?: AwaitedEvent;
  settle?: JobSettle;
}

/**
 * One qemu-io command on a node, as HMP `qemu-io NODE "COMMAND"` runs it (Engine.io); `node` is a
 * name or a `{"$node": path}` reference. The reference engine runs qemu-system for these.
 */
export interface IoStep {
  kind: "io";
  node: Json;
  command: string;
}

export type Step = ImageStep | QmpStep | IoStep;

/** An event as compared: no timestamp. */
export interface RecordedEvent {
  event: string;
  data?: Json;
}

/** A QMP step as it ran: arguments as sent (auto names real, paths as `$TEST_DIR`), reply, events. */
export interface RecordedQmpStep {
  kind: "qmp";
  execute: string;
  arguments?: { [key: string]: Json };
  /** Auto names used in `arguments`, each with the path it was resolved from. */
  refs?: Record<string, string>;
  /** The event the step waited for after its reply (see QmpStep). */
  await?: AwaitedEvent;
  settle?: JobSettle;
  reply: QmpReply;
  events: RecordedEvent[];
}

/** An io step as it ran: the node as sent (with its path in `refs` when auto-named), qemu-io's output. */
export interface RecordedIoStep {
  kind: "io";
  node: string;
  refs?: Record<string, string>;
  command: string;
  /** As printed, timings filtered as qemu-iotests does, the scratch directory as `$TEST_DIR`. */
  output: string;
}

export type RecordedStep = ImageStep | RecordedQmpStep | RecordedIoStep;

/** After these commands succeed, QEMU finishes the work asynchronously and reports it with an event. */
export const AWAITED_EVENT: Readonly<Record<string, string>> = {
  "block-export-del": "BLOCK_EXPORT_DELETED",
};

/** Shorthand for building QMP steps in hand-written sequences. */
export function qmp(execute: string, args?: { [key: string]: Json }): QmpStep {
  return args === undefined ? { kind: "qmp", execute } : { kind: "qmp", execute, arguments: args };
}

/** Shorthand for an io step. */
export function io(nodeOrRef: Json, command: string): IoStep {
  return { kind: "io", node: nodeOrRef, command };
}

/** Shorthand for an image step. */
export function image(path: string, format: "qcow2" | "raw", size: number, backing?: { file: string; format: "qcow2" | "raw" }): ImageStep {
  const spec: ImageSpec = { path, format, size };
  if (backing) {
    spec.backingFile = backing.file;
    spec.backingFormat = backing.format;
  }
  return { kind: "image", spec };
}

/** A `{"$node": path}` reference to a (usually auto-named) node, resolved when the step runs. */
export function node(path: string): Json {
  return { $node: path };
}

/** Strip what differs between runs of the same event (the timestamp). */
export function recordEvent(ev: QmpEvent): RecordedEvent {
  return ev.data === undefined ? { event: ev.event } : { event: ev.event, data: ev.data as Json };
}
