/**
 * Validate a QMP command and its arguments as QEMU 7.2's dispatcher and QAPI input visitor do,
 * before any command-specific code runs. The model's dispatcher calls this first and only handles
 * commands whose arguments passed.
 *
 *   validateQmpCommand("blockdev-add", { driver: "raw", "node-name": "r0" })
 *   // → { ok: false, error: { class: "GenericError", desc: "Parameter 'file' is missing" } }
 *
 * Every QMP command qemu-storage-daemon 7.2 has is known (from its own introspection); whether the
 * model implements it is the dispatcher's business.
 */
import type { QmpErrorBody } from "../../engine.js";
import { qmpSchema } from "../../../qapi/generated/qmp-schema.js";
import { InputVisitor, VisitError } from "./input-visitor.js";

export type QmpValidation = { ok: true; args: Record<string, unknown> } | { ok: false; error: QmpErrorBody };

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
  return { ok: true, args: dict as Record<string, unknown> };
}

/** Every QMP command name qemu-storage-daemon 7.2 accepts, sorted. */
export function qmpCommandNames(): string[] {
  return Object.keys(qmpSchema.commands);
}
