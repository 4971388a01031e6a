/**
 * `export NODE [writable] [id=ID] [name=NAME] …` → nbd-server-start (once per run, on a UNIX socket in
 * the scratch directory) then block-export-add. The id defaults to the node as written when that is
 * a plain name, else `eN` (N = exports so far).
 * `unexport ID-OR-NODE` → block-export-del, then wait for BLOCK_EXPORT_DELETED: removal is
 * asynchronous and a blockdev-del right after would still see the export.
 */
import path from "node:path";
import type { ExportStatement, UnexportStatement } from "../../language/ast.js";
import { buildOptions } from "../blockdev-options.js";
import type { StepContext } from "../context.js";
import { nodeNameFor, normalizeMessage } from "../graph-state.js";
import { resolverFor } from "./resolver.js";
import { commandStep, finish, type StepResult } from "./step.js";


export async function exportStep(ctx: StepContext, stmt: ExportStatement): Promise<StepResult> {
  if (!ctx.nbdServerStarted) {
    // QEMU runs in the scratch directory: a relative name keeps the socket path short (sun_path
    // holds 108 bytes) however deep the scratch directory is.
    const reply = await ctx.engine.qmp("nbd-server-start", { addr: { type: "unix", data: { path: "nbd.sock" } } });
    if ("error" in reply) return finish(ctx, stmt, { ok: false, desc: await normalizeMessage(ctx, reply.error.desc) }, []);
    ctx.nbdServerStarted = true;
  }
  const nodeName = await nodeNameFor(ctx, stmt.node);
  const extra = await buildOptions(stmt.options, undefined, resolverFor(ctx));
  const id = typeof extra.id === "string" ? extra.id : stmt.node.path.length === 0 ? stmt.node.root : `e${ctx.exports.length}`;
  const args = { type: "nbd", id, "node-name": nodeName, writable: stmt.writable, ...extra };
  args.id = id;
  return commandStep(ctx, stmt, "block-export-add", args, () => {
    ctx.exports.push({ id, nodeName });
  });
}

export async function unexportStep(ctx: StepContext, stmt: UnexportStatement): Promise<StepResult> {
  const target = stmt.target.name;
  const known = ctx.exports.find((e) => e.id === target) ?? ctx.exports.find((e) => e.nodeName === target);
  const id = known?.id ?? target;
  return commandStep(ctx, stmt, "block-export-del", { id }, async () => {
    await waitDeleted(ctx, id);
    ctx.exports = ctx.exports.filter((e) => e.id !== id);
  });
}

/** This export's event only: another export's stays queued for whoever waits for it. */
async function waitDeleted(ctx: StepContext, id: string): Promise<void> {
  await ctx.events.wait("BLOCK_EXPORT_DELETED", { id }, ctx.eventTimeoutMs);
}
