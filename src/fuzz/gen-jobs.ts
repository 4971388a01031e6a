/**
 * The generator's block jobs: stream, commit, mirror and backup on the nodes the case has (on a
 * backing chain made for them when it has none), then only steps whose outcome timing cannot
 * change: a wait for a state the job stays in (docs/language.md, "Holding a job still"), verbs
 * from there, and the case's other steps while the job holds its nodes (between `wait ID ready`
 * and `job complete`, at `pending`, at `concluded`, beside a backup with sync=none) — where a
 * job's permissions, frozen links and filters meet reopens, adds and dels.
 */
import type { GenContext } from "./gen-context.js";
import { bool, opt, word } from "./gen-context.js";
import type { GenNode } from "./gen-world.js";
import type { FuzzNode, FuzzOption, FuzzStatement } from "./scenario-ir.js";

type Job = Extract<FuzzStatement, { kind: "job" }>;
type Status = Extract<FuzzStatement, { kind: "wait" }>["status"];
/** One of the generator's own steps (generator.ts), run while a job is held. */
type Step = (ctx: GenContext) => Promise<void>;

/** Step weight of a case with jobs (added to generator.ts's); none while a job is held. */
export function jobWeights(ctx: GenContext): { job: number } {
  return { job: ctx.jobs && !ctx.jobHeld ? 3 : 0 };
}

/** The chain's nodes from `top` down its backing links. */
function chainOf(top: GenNode): GenNode[] {
  const out = [top];
  for (let n = top.children.get("backing"); n && !out.includes(n); n = n.children.get("backing")) out.push(n);
  return out;
}

/** A named chain jbase <- jmid <- jtop (or two of them), made once per case; its top, or undefined. */
async function makeChain(ctx: GenContext): Promise<GenNode | undefined> {
  const { rng, world } = ctx;
  if (world.images.has("jbase.qcow2")) return undefined;
  const files = rng.chance(0.7) ? ["jbase.qcow2", "jmid.qcow2", "jtop.qcow2"] : ["jbase.qcow2", "jmid.qcow2"];
  const restore = world.snapshot();
  const nodes: FuzzNode[] = [];
  for (const f of files) {
    const options: FuzzOption[] = [opt("file", { kind: "child", driver: "file", options: [opt("filename", word(ctx.image(f)))] })];
    const below = nodes[nodes.length - 1];
    if (below) options.push(opt("backing", word(below.name)));
    else options.push(opt("backing", { kind: "null" }));
    const node: FuzzNode = { name: world.fresh("c"), driver: "qcow2", options };
    world.add(node);
    nodes.push(node);
  }
  const out = await ctx.steer({ kind: "graph", nodes });
  restore();
  if (out.kind !== "ran" || out.failed.length > 0) return undefined;
  let top: GenNode | undefined;
  for (const n of nodes) top = world.add(n);
  // Data in the layers, so that a copy has something to copy.
  if (ctx.dataPath) {
    for (const [i, n] of nodes.entries()) {
      if (!rng.chance(0.6)) continue;
      await ctx.steer({ kind: "io", node: n.name, command: `write -P 0x${(0x11 * (i + 1)).toString(16)} ${rng.pick([0, 65536, 524288])} ${rng.pick([4096, 65536])}` });
      ctx.require("io");
    }
  }
  return top;
}

/** The largest source a mirror or a backup copies. */
const MAX_COPY = 4 * 1048576;

/** A target for a mirror or a backup: a fresh qcow2 of the source's length, a null-co of it, or a node the case has. */
async function target(ctx: GenContext, source: GenNode): Promise<string | undefined> {
  const { rng, world } = ctx;
  const bytes = source.name !== undefined ? await ctx.nodeSize(source.name) : undefined;
  // A null-co is 1 GiB unless told: copying it would take the case's whole time on QEMU.
  if (bytes === undefined || bytes > MAX_COPY) return undefined;
  const others = world.referable().filter((n) => n !== source && n.name !== undefined);
  const kind = rng.weighted({ image: 5, null: 1.5, existing: others.length > 0 ? 1 : 0 });
  if (kind === "existing") return world.ref(rng.pick(others));
  const name = world.fresh("t");
  const node: FuzzNode =
    kind === "image"
      ? { name, driver: "qcow2", options: [opt("file", { kind: "child", driver: "file", options: [opt("filename", word(ctx.sizedImage(`${name}.qcow2`, bytes)))] })] }
      : { name, driver: "null-co", options: [opt("size", { kind: "number", value: bytes })] };
  const out = await ctx.steer({ kind: "add", node });
  if (out.kind !== "ran" || out.failed.length > 0) return undefined;
  world.add(node);
  return name;
}

/** The job statement, and what must happen to it to end. */
async function jobStatement(ctx: GenContext): Promise<{ s: Job; top?: GenNode; base?: GenNode; device: GenNode; target?: GenNode } | undefined> {
  const { rng, world } = ctx;
  const type = rng.weighted({ stream: 1, commit: 1.3, mirror: 1.2, backup: 1 });
  const id = world.fresh("j");
  const options: FuzzOption[] = [];
  if (type === "stream" || type === "commit") {
    let chains = world.referable().filter((n) => n.children.get("backing") && world.ref(n) !== undefined);
    if (chains.length === 0 || rng.chance(0.3)) {
      const made = await makeChain(ctx);
      if (made) chains = [made];
    }
    if (chains.length === 0) return undefined;
    const device = rng.pick(chains);
    const chain = chainOf(device);
    let top: GenNode | undefined;
    let base: GenNode | undefined;
    if (type === "commit") {
      // The active layer (a mirror that gets ready) or an intermediate one (a job that ends by itself).
      const t = rng.int(0, chain.length - 2);
      top = chain[t]!;
      base = rng.chance(0.6) ? chain[rng.int(t + 1, chain.length - 1)] : undefined;
      if (t > 0 || rng.chance(0.3)) options.push(opt("top-node", word(world.ref(top)!)));
    } else {
      base = rng.chance(0.5) && chain.length > 2 ? chain[rng.int(2, chain.length - 1)] : undefined;
    }
    if (base && world.ref(base) !== undefined) options.push(opt("base-node", word(world.ref(base)!)));
    else base = undefined;
    if (rng.chance(0.4)) options.push(opt("filter-node-name", word(world.fresh("f"))));
    return { s: { kind: "job", type, id, node: world.ref(device)!, options }, device, ...(top ? { top } : {}), ...(base ? { base } : {}) };
  }
  // A named node, so its length can be asked; mostly one without parents, as a mirror wants.
  const sources = world.referable().filter((n) => n.name !== undefined && !n.retired);
  if (sources.length === 0) return undefined;
  const roots = sources.filter((n) => world.parents(n).length === 0);
  const device = rng.pick(roots.length > 0 && rng.chance(0.8) ? roots : sources);
  const t = await target(ctx, device);
  if (t === undefined || world.ref(device) === undefined) return undefined;
  const syncs = type === "mirror" ? { full: 3, top: 1.5, none: 1 } : { full: 2.5, top: 1, none: 2 };
  options.push(opt("target", word(t)), opt("sync", word(rng.weighted(syncs))));
  if (type === "mirror" && rng.chance(0.2)) options.push(opt("copy-mode", word("write-blocking")));
  if (rng.chance(0.3)) options.push(opt("filter-node-name", word(world.fresh("f"))));
  return { s: { kind: "job", type, id, node: world.ref(device)!, options }, device, target: world.resolve(t) };
}

/** Wait for `want`; where the model does not see the job get there, for where it does stay instead. */
async function settle(ctx: GenContext, id: string, want: Status, autoDismiss: boolean): Promise<Status> {
  const out = await ctx.steer({ kind: "wait", id, status: want });
  if (out.kind !== "ran" || out.failed.length === 0) return want;
  ctx.retract();
  const now = await ctx.jobStatus(id);
  const stays: Status = now === "ready" || now === "standby" || now === "pending" || now === "concluded" ? now : autoDismiss ? "null" : "concluded";
  const again = await ctx.steer({ kind: "wait", id, status: stays });
  if (again.kind === "ran" && again.failed.length > 0) ctx.retract();
  return stays;
}

/** The case's other steps while the job stays where it is. */
async function around(ctx: GenContext, step: Step, most: number): Promise<void> {
  ctx.jobHeld = true;
  try {
    for (let i = ctx.rng.int(0, most); i > 0 && !ctx.ended; i--) await step(ctx);
  } finally {
    ctx.jobHeld = false;
  }
}

/** A job, from its start to its end (or as far as the case goes). */
export async function jobStep(ctx: GenContext, step: Step): Promise<void> {
  const { rng } = ctx;
  const made = await jobStatement(ctx);
  if (!made || ctx.ended) return;
  const { s } = made;
  const autoFinalize = !rng.chance(0.25);
  const autoDismiss = !rng.chance(0.25);
  if (!autoFinalize) s.options.push(opt("auto-finalize", bool(false)));
  if (!autoDismiss) s.options.push(opt("auto-dismiss", bool(false)));
  const out = await ctx.steer(s);
  if (out.kind === "dropped") return;
  ctx.require("jobs");
  if (out.kind !== "ran" || out.failed.length > 0) return;
  const sync = s.options.find((o) => o.key === "sync")?.value;
  const staysRunning = s.type === "backup" && sync?.kind === "word" && sync.text === "none";
  const mayGetReady = s.type === "mirror" || (s.type === "commit" && made.top === made.device);
  const done: Status = !autoFinalize ? "pending" : autoDismiss ? "null" : "concluded";
  /** Whether it ended without doing what it does to the graph. */
  let cancelled = false;
  let status: Status;
  if (staysRunning) {
    await around(ctx, step, 3);
    if (ctx.ended) return;
    await ctx.steer({ kind: "job-verb", verb: "cancel", id: s.id });
    cancelled = true;
    status = await settle(ctx, s.id, done, autoDismiss);
  } else status = await settle(ctx, s.id, mayGetReady ? "ready" : done, autoDismiss);
  if (status === "ready") {
    if (rng.chance(0.2)) {
      await ctx.steer({ kind: "job-verb", verb: "pause", id: s.id });
      if ((await settle(ctx, s.id, "standby", autoDismiss)) !== "standby") return;
      await around(ctx, step, 2);
      if (ctx.ended) return;
      await ctx.steer({ kind: "job-verb", verb: "resume", id: s.id });
      if ((await settle(ctx, s.id, "ready", autoDismiss)) !== "ready") return;
    }
    await around(ctx, step, 3);
    if (ctx.ended) return;
    const end = rng.weighted({ complete: 3, cancel: 1, force: 0.7 });
    const verb: FuzzStatement =
      end === "complete" ? { kind: "job-verb", verb: "complete", id: s.id } : { kind: "job-verb", verb: "cancel", id: s.id, ...(end === "force" ? { force: true as const } : {}) };
    const v = await ctx.steer(verb);
    // A soft cancel of a ready mirror completes it, without the switch to the target.
    cancelled = end !== "complete" || v.kind !== "ran" || v.failed.length > 0;
    status = await settle(ctx, s.id, done, autoDismiss);
  }
  if (status === "pending") {
    await around(ctx, step, 3);
    if (ctx.ended) return;
    const cancel = rng.chance(0.2);
    const v = await ctx.steer({ kind: "job-verb", verb: cancel ? "cancel" : "finalize", id: s.id });
    if (cancel) cancelled = true;
    if (v.kind !== "ran" || v.failed.length > 0) return;
    status = await settle(ctx, s.id, autoDismiss ? "null" : "concluded", autoDismiss);
  }
  if (status === "concluded") {
    if (rng.chance(0.5)) await around(ctx, step, 2);
    if (ctx.ended) return;
    await ctx.steer({ kind: "job-verb", verb: "dismiss", id: s.id });
    status = "null";
  }
  if (status === "null" && !cancelled) believeJob(ctx, made);
}

/** What a job that did its work changes in the belief. */
function believeJob(ctx: GenContext, made: { s: Job; top?: GenNode; base?: GenNode; device: GenNode; target?: GenNode }): void {
  const { world } = ctx;
  const { s, device, top, target } = made;
  const base = made.base ?? chainOf(top ?? device).at(-1);
  const backing = (n: GenNode | undefined) => opt("backing", n && world.ref(n) !== undefined ? word(world.ref(n)!) : { kind: "null" });
  if (s.type === "stream") world.reopen(device, [backing(made.base)]);
  else if (s.type === "commit" && top && top !== device) {
    const above = world.parents(top).find((p) => p.edge === "backing")?.parent;
    if (above) world.reopen(above, [backing(base)]);
  } else if (s.type === "commit" && base) world.replace(device, base);
  else if (s.type === "mirror" && target) world.replace(device, target);
}
