/**
 * Iothread steps for the sequence generator: iothread objects (object-add qom-type=iothread, with a
 * share of bad properties and duplicates), exports with `iothread` and `fixed-iothread`, and
 * x-blockdev-set-iothread with and without `force`.
 *
 * QEMU 7.2 crashes on some graph changes around nodes that run in an iothread (blockdev-add or a
 * reopen attaching such a node when it may move: the old context is unlocked without being held;
 * a throttle filter opened over one; object-del of an iothread still in use). The model crashes
 * there too, but a QEMU crash ends a differential sequence as a finding, so the generator keeps
 * clear of them: `IothreadGuard` remembers which nodes may run in an iothread (every node connected
 * to one that was sent there), and a blockdev-add, blockdev-reopen or qemu-io command that names
 * one of them is replaced by a move back to the main loop (or a query when that already failed).
 * Job starts are not: their commands hold the node's context, so the filter they insert and the
 * mirror target join it without tripping QEMU's locking (docs/engines.md, "Iothreads"). Iothreads
 * are never deleted.
 */
import { nodeRef } from "./gen-add.js";
import type { BlockGraph } from "./block-graph.js";
import type { GenState, LiveView } from "./gen-state.js";
import type { Prng } from "../../src/fuzz/prng.js";
import { qmp, type IoStep, type Json, type QmpStep, type RecordedQmpStep } from "./steps.js";

/** Commands that attach a node somewhere without holding its context: QEMU's AioContext locking trips. */
const ATTACHING = new Set(["blockdev-add", "blockdev-reopen"]);

/** One iothread step, decided from the generator's state and the live graph. */
export function iothreadStep(rng: Prng, state: GenState, view: LiveView): QmpStep {
  const names = view.graph.referableNames();
  const kind = rng.weighted({
    add: state.iothreads.size === 0 ? 6 : 1,
    setIothread: names.length > 0 ? 4 : 0,
    exportAdd: names.length > 0 && state.serverRunning ? 3 : 0,
  });
  if (kind === "add") return iothreadAddStep(rng, state);
  const node = nodeRef(view, rng.pick(names));
  if (kind === "setIothread") return qmp("x-blockdev-set-iothread", { "node-name": node, iothread: pickIothread(rng, state, true), ...(rng.chance(0.5) ? { force: rng.chance(0.8) } : {}) });
  const args: { [key: string]: Json } = { type: "nbd", id: state.freshName("e"), "node-name": node, name: state.freshName("x") };
  if (rng.chance(0.85)) args.iothread = pickIothread(rng, state, false) as string;
  if (rng.chance(0.6)) args["fixed-iothread"] = rng.chance(0.6);
  return qmp("block-export-add", args);
}

/** object-add qom-type=iothread: mostly a fresh id, sometimes a taken or invalid one or a bad property. */
function iothreadAddStep(rng: Prng, state: GenState): QmpStep {
  const taken = [...state.iothreads, ...state.throttleGroups];
  const r = rng.next();
  const id = r < 0.08 && taken.length > 0 ? rng.pick(taken) : r < 0.1 ? "1io" : state.freshName("io");
  const props: { [key: string]: Json } = {};
  if (rng.chance(0.3)) props["poll-max-ns"] = rng.pick([0, 32768, -1]);
  if (rng.chance(0.15)) props["aio-max-batch"] = rng.pick([0, 16, -5]);
  if (rng.chance(0.15)) {
    props["thread-pool-min"] = rng.pick([0, 2, 100]);
    props["thread-pool-max"] = rng.pick([0, 4, 64]);
  }
  return qmp("object-add", { "qom-type": "iothread", id, ...props });
}

/** An existing iothread mostly; sometimes the main loop (null, where allowed) or one that does not exist. */
function pickIothread(rng: Prng, state: GenState, nullable: boolean): Json {
  const ids = [...state.iothreads];
  const r = rng.next();
  if (nullable && r < 0.2) return null;
  if (r < 0.27 || ids.length === 0) return "nosuch";
  return rng.pick(ids);
}

/** Which nodes may run in an iothread, learned from the commands that succeeded. */
export class IothreadGuard {
  /** Nodes that may run in an iothread: those sent there and every node connected to them since. */
  private tainted = new Set<string>();
  /** Nodes whose move back to the main loop was refused since they were last sent away. */
  private readonly stuck = new Set<string>();

  /** Learn from a step that ran; `after` is the graph once it finished. */
  observe(step: RecordedQmpStep, after: LiveView): void {
    const args = (step.arguments ?? {}) as { [key: string]: Json };
    const target = resolved(after.graph, args["node-name"]);
    const ok = "return" in step.reply;
    const seeds = [...this.tainted].filter((n) => after.graph.driverNode(n));
    if (target !== undefined && step.execute === "x-blockdev-set-iothread" && args.iothread === null) {
      if (ok) {
        const home = component(after.graph, target);
        seeds.splice(0, seeds.length, ...seeds.filter((n) => !home.has(n)));
        for (const n of home) this.stuck.delete(n);
      } else {
        this.stuck.add(target);
      }
    } else if (target !== undefined && step.execute === "x-blockdev-set-iothread" && ok) {
      seeds.push(target);
    }
    // A failed export may have moved its node before it failed (blk_exp_add).
    if (target !== undefined && step.execute === "block-export-add" && typeof args.iothread === "string") seeds.push(target);
    this.tainted = new Set(seeds.flatMap((n) => [...component(after.graph, n)]));
  }

  /**
   * The step to send instead of `step` when it attaches a node that may run in an iothread: a move
   * of that node back to the main loop, or a query when that was tried and refused.
   */
  replace(step: QmpStep | IoStep, view: LiveView): QmpStep | IoStep {
    // HMP qemu-io on a node in an iothread polls that context from the main thread, and QEMU 7.2
    // aborts (aio_poll: in_aio_context_home_thread).
    const guarded = step.kind === "io" || (step.kind === "qmp" && ATTACHING.has(step.execute));
    if (!guarded || this.tainted.size === 0) return step;
    const named = [...mentionedNodes(view.graph, step.kind === "io" ? step.node : (step.arguments ?? {}))].find((n) => this.tainted.has(n));
    if (named === undefined) return step;
    const referable = new Set(view.graph.referableNames());
    const home = [...component(view.graph, named)].find((n) => !this.stuck.has(n) && referable.has(n));
    if (home === undefined) return qmp("x-debug-query-block-graph");
    return qmp("x-blockdev-set-iothread", { "node-name": nodeRef(view, home), iothread: null, force: true });
  }
}

/** A node-name argument (a name or `{"$node": path}`) as the node's name, if it resolves. */
function resolved(graph: BlockGraph, ref: Json | undefined): string | undefined {
  if (typeof ref === "string") return graph.driverNode(ref) ? ref : undefined;
  if (ref && typeof ref === "object" && !Array.isArray(ref) && typeof ref.$node === "string") {
    try {
      return graph.resolve(ref.$node);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Every existing node a command's arguments name, anywhere in them. */
function mentionedNodes(graph: BlockGraph, args: Json): Set<string> {
  const out = new Set<string>();
  const stack: Json[] = [args];
  while (stack.length > 0) {
    const v = stack.pop()!;
    const name = resolved(graph, v);
    if (name !== undefined) out.add(name);
    if (Array.isArray(v)) stack.push(...v);
    else if (v && typeof v === "object") stack.push(...Object.values(v));
  }
  return out;
}

/** The nodes connected to `name` through child edges, either way (QEMU keeps them in one context). */
function component(graph: BlockGraph, name: string): Set<string> {
  const neighbours = new Map<string, string[]>();
  const link = (a: string, b: string) => neighbours.set(a, [...(neighbours.get(a) ?? []), b]);
  for (const n of graph.driverNames()) {
    for (const e of graph.childEdges(n)) {
      const c = graph.node(e.child)?.name;
      if (c === undefined) continue;
      link(n, c);
      link(c, n);
    }
  }
  const seen = new Set([name]);
  const stack = [name];
  while (stack.length > 0) for (const m of neighbours.get(stack.pop()!) ?? []) if (!seen.has(m)) seen.add(m), stack.push(m);
  return seen;
}
