/**
 * `reopen NODE k=v …`, `reopen { NODE k=v … }` (one transaction), `reopen fresh …` and `reopen raw …`.
 *
 * Delta mode sends, per node, its tracked options with the written changes applied; fresh mode the
 * options it was added with, with the changes applied (245's reopen(opts, newopts) helper, whose
 * `opts` never change); nodes never added by name (implicit ones) start from `{driver, node-name}`
 * in both. Raw mode sends exactly the options written plus node-name. Every form sends all entries in
 * ONE blockdev-reopen, and only when it succeeds do the sent options become the tracked ones.
 */
import type { OptionNode, ReopenEntry, ReopenStatement } from "../../language/ast.js";
import { lookupOption } from "../../qapi/blockdev-schema.js";
import { buildOptions, convertOption } from "../blockdev-options.js";
import type { StepContext } from "../context.js";
import { StepError } from "../errors.js";
import { namedNodes, nodeNameFor } from "../graph-state.js";
import { applyDelta, DeltaConflict, isDict, type QDict } from "../option-tracker.js";
import { backingMissingNote } from "./backing-note.js";
import { resolverFor } from "./resolver.js";
import { commandStep, type StepResult } from "./step.js";

export async function reopenStep(ctx: StepContext, stmt: ReopenStatement): Promise<StepResult> {
  if (stmt.entries.length === 0) {
    // An empty list aborts QEMU 7.2 (assertion in bdrv_reopen_multiple); never send it.
    throw new StepError("reopen needs at least one node", stmt.location);
  }
  const sent: QDict[] = [];
  for (const entry of stmt.entries) {
    sent.push(stmt.mode === "raw" ? await rawEntry(ctx, entry) : await deltaEntry(ctx, entry, stmt.mode));
  }
  const r = await commandStep(ctx, stmt, "blockdev-reopen", { options: sent }, () => {
    for (const opts of sent) ctx.tracker.set(opts["node-name"] as string, opts);
  });
  if (!r.outcome.ok && r.failures.length > 0) {
    const note = await backingMissingNote(ctx, r.outcome.desc);
    if (note) r.failures = r.failures.map((f) => ({ ...f, details: note }));
  }
  return r;
}

async function rawEntry(ctx: StepContext, entry: ReopenEntry): Promise<QDict> {
  const name = await nodeNameFor(ctx, entry.node);
  const driverOpt = entry.options.find((o) => o.key === "driver");
  const driver = driverOpt?.value.type === "word" ? driverOpt.value.value : undefined;
  const opts = await buildOptions(entry.options, driver, resolverFor(ctx));
  return driver === undefined ? { "node-name": name, ...opts } : { driver, "node-name": name, ...opts };
}

async function deltaEntry(ctx: StepContext, entry: ReopenEntry, mode: "delta" | "fresh"): Promise<QDict> {
  const name = await nodeNameFor(ctx, entry.node);
  const base = (mode === "fresh" ? ctx.tracker.added(name) : ctx.tracker.get(name)) ?? (await implicitBase(ctx, name, entry));
  base["node-name"] = name;
  const delta: [string, unknown][] = [];
  for (const opt of entry.options) {
    const { driver, key } = driverAt(base, opt.key);
    delta.push([opt.key, await convertOption({ ...opt, key } as OptionNode, driver, resolverFor(ctx))]);
  }
  const merged = applyDelta(base, delta);
  if (merged instanceof DeltaConflict) {
    const opt = entry.options.find((o) => o.key === merged.key)!;
    const at = driverAt(base, merged.prefix);
    const isChild = at.driver !== undefined && lookupOption(at.driver, at.key)?.kind === "child";
    throw new StepError(
      isChild
        ? `cannot set '${merged.key}': '${merged.prefix}' is a reference to node ${JSON.stringify(merged.existing)}, not inline options`
        : `cannot set '${merged.key}': '${merged.prefix}' is the value ${JSON.stringify(merged.existing)}, not a set of options; set '${merged.prefix}' itself, to a JSON object ({"…": …})`,
      opt.keyLocation,
    );
  }
  return merged;
}

/** Options to start from for a node the runner never added by name: its driver and name. */
async function implicitBase(ctx: StepContext, name: string, entry: ReopenEntry): Promise<QDict> {
  const info = (await namedNodes(ctx)).find((n) => n.name === name);
  if (!info) throw new StepError(`node '${entry.node.text}' does not exist`, entry.node.location);
  return { driver: info.driver, "node-name": name };
}

/** The driver a dotted key belongs to (the innermost inline child on its way) and the key below it. */
function driverAt(base: QDict, dotted: string): { driver: string | undefined; key: string } {
  const parts = dotted.split(".");
  let dict = base;
  let driver = typeof base.driver === "string" ? base.driver : undefined;
  let start = 0;
  for (let i = 0; i < parts.length - 1; i++) {
    const next = dict[parts[i]!];
    if (!isDict(next)) break;
    dict = next;
    if (typeof next.driver === "string") {
      driver = next.driver;
      start = i + 1;
    }
  }
  return { driver, key: parts.slice(start).join(".") };
}
