/**
 * Validate a QMP command and its arguments as QEMU 7.2's dispatcher and QAPI input visitor do,
 * before any command-specific code runs. The model's dispatcher and the monitor emulation call this
 * first and only handle commands whose arguments passed.
 *
 *   validateQmpCommand("blockdev-add", { driver: "raw", "node-name": "r0" })
 *   // → { ok: false, error: { class: "GenericError", desc: "Parameter 'file' is missing" } }
 *
 * Every QMP command qemu-storage-daemon 7.2 has is known (from its own introspection); whether the
 * model implements it is the dispatcher's business.
 */
import { qmpSchema } from "./generated/qmp-schema.js";
import { InputVisitor, VisitError } from "./input-visitor.js";
import { QmpFloat } from "../qmp/wire.js";

/**
 * Why a request was refused, in the shape of a QMP error object so a caller can put it on the wire
 * as it is; the two classes are the only ones QEMU's dispatcher uses before a command runs.
 */
export interface QapiRejection {
  class: "CommandNotFound" | "GenericError";
  desc: string;
}

export type QmpValidation = { ok: true; args: Record<string, unknown> } | { ok: false; error: QapiRejection };

const visitor = new InputVisitor(qmpSchema);

/**
 * Check `command` and `args` (the request's `arguments`; undefined when absent). QEMU's exact
 * errors: CommandNotFound for an unknown command, GenericError for bad arguments.
 */
export function validateQmpCommand(command: string, args: unknown): QmpValidation {
  const cmd = qmpSchema.commands[command];
  if (!cmd) {
    return { ok: false, error: { class: "CommandNotFound", desc: `The command ${command} has not been found` } };
  }
  const dict = args === undefined ? {} : args;
  if (typeof dict !== "object" || dict === null || Array.isArray(dict)) {
    return { ok: false, error: { class: "GenericError", desc: "QMP input member 'arguments' must be an object" } };
  }
  try {
    visitor.visitRoot(cmd.arg, dict as Record<string, unknown>);
  } catch (e) {
    if (e instanceof VisitError) return { ok: false, error: { class: "GenericError", desc: e.desc } };
    throw e;
  }
  return { ok: true, args: withPlainFloats(dict) as Record<string, unknown> };
}

/**
 * The arguments with each QmpFloat made a plain number: once the visitor has checked the types, a
 * command's code reads a double as the number it is. The same object when there is none.
 */
function withPlainFloats(value: unknown): unknown {
  if (!holdsFloat(value)) return value;
  if (value instanceof QmpFloat) return value.value;
  if (Array.isArray(value)) return value.map(withPlainFloats);
  const out = {};
  for (const [k, v] of Object.entries(value as object)) {
    Object.defineProperty(out, k, { value: withPlainFloats(v), writable: true, enumerable: true, configurable: true });
  }
  return out;
}

/** Whether `value` is or holds a QmpFloat: nearly no command has one, and then nothing is copied. */
function holdsFloat(value: unknown): boolean {
  if (value instanceof QmpFloat) return true;
  if (value === null || typeof value !== "object") return false;
  if (Array.isArray(value)) return value.some(holdsFloat);
  for (const k in value) if (Object.prototype.hasOwnProperty.call(value, k) && holdsFloat((value as Record<string, unknown>)[k])) return true;
  return false;
}

/** Every QMP command name qemu-storage-daemon 7.2 accepts, sorted. */
export function qmpCommandNames(): string[] {
  return Object.keys(qmpSchema.commands);
}
