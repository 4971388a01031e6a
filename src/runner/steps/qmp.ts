/**
 * `qmp COMMAND {json}`: the escape hatch. `$TEST_DIR` in argument strings becomes the scratch
 * directory; path arguments must then lie in it, and unsafe commands need leave (qmp-confinement.ts);
 * the reply goes into the transcript normalized, its members in QEMU's order (the model
 * answers in the same order, byte for byte) and laid out by transcript/json-layout.ts: `ok` for an
 * empty return, `return: JSON` otherwise, `error: DESC` on error. query-iothreads' thread ids
 * are masked.
 */
import type { QmpStatement } from "../../language/ast.js";
import type { StepContext } from "../context.js";
import { StepError } from "../errors.js";
import { normalizeMessage } from "../graph-state.js";
import { confineQmp } from "../qmp-confinement.js";
import { replyText } from "./reply-text.js";
import { finish, type StepResult } from "./step.js";

const RETURN = "return: ";

export async function qmpStep(ctx: StepContext, stmt: QmpStatement): Promise<StepResult> {
  const args = stmt.args ? substitute(stmt.args.value, ctx.workdir) : undefined;
  if (args !== undefined && (typeof args !== "object" || args === null || Array.isArray(args))) {
    throw new StepError("qmp arguments must be a JSON object", stmt.args!.location);
  }
  confineQmp(ctx, stmt.command.name, args, stmt.args?.location ?? stmt.command.location);
  const reply = await ctx.engine.qmp(stmt.command.name, args as Record<string, unknown> | undefined);
  if ("error" in reply) return finish(ctx, stmt, { ok: false, desc: await normalizeMessage(ctx, reply.error.desc) }, []);
  const empty = isEmptyObject(reply.return);
  const r = finish(ctx, stmt, { ok: true }, []);
  if (!empty) r.blocks[0]!.output = [RETURN + (await replyText(ctx, withoutThreadIds(stmt.command.name, reply.return), RETURN.length))];
  return r;
}

/**
 * query-iothreads' `thread-id` is a kernel thread id on QEMU, different in every run, and the
 * model has no threads: the transcript shows `"$THREAD_ID"` in its place, and compares the rest.
 */
function withoutThreadIds(command: string, value: unknown): unknown {
  if (command !== "query-iothreads" || !Array.isArray(value)) return value;
  return value.map((info) => {
    if (typeof info !== "object" || info === null || !("thread-id" in info)) return info;
    // Same keys, same order: only the value changes.
    return { ...(info as Record<string, unknown>), "thread-id": THREAD_ID };
  });
}

const THREAD_ID = "$THREAD_ID";

function isEmptyObject(v: unknown): boolean {
  return typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;
}

function substitute(v: unknown, workdir: string): unknown {
  if (typeof v === "string") return v.split("$TEST_DIR").join(workdir);
  if (Array.isArray(v)) return v.map((x) => substitute(x, workdir));
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, substitute(x, workdir)]));
  }
  return v;
}
