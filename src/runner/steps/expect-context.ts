/**
 * `expect context NODE ID|main`: which AioContext a node runs in. QEMU 7.2 shows it in no query
 * (neither query-named-block-nodes nor x-debug-query-block-graph), so the step observes it through
 * commands whose outcome depends on it, the same ones on both engines:
 *
 * 1. pin the node's part of the graph: block-export-add with fixed-iothread=on and no iothread on
 *    the topmost node above NODE (an export there needs no permission a parent could deny). Its
 *    BlockBackend stays in the context it found and refuses to be moved.
 * 2. x-blockdev-set-iothread NODE CANDIDATE force=true, for the expected context first, then the
 *    others this run created and the main loop's: it succeeds, doing nothing, exactly when NODE is
 *    already there (bdrv_try_change_aio_context returns at once); anywhere else the pin refuses
 *    ("Cannot change iothread of active block backend") before anything moves.
 * 3. block-export-del the pin (and wait for BLOCK_EXPORT_DELETED). A node whose parent goes moves
 *    back to the main loop's context with everything connected to it (bdrv_detach_child), unless
 *    something else refuses; so x-blockdev-set-iothread NODE FOUND force=true then puts it back:
 *    the same nodes, refused by nothing (or already there), return to where they were.
 *
 * The NBD server is started for the probe and stopped after it when none was running. The
 * observation leaves the graph as it found it, but it needs NODE's topmost node to accept a
 * read-only export (a graph where something takes `resize` there without sharing it cannot be
 * observed), and the context must be the main loop's or an iothread the run created.
 */
import type { Identifier, NodeRef } from "../../language/ast.js";
import type { GraphNode } from "../../graph-view/block-graph.js";
import type { StepContext } from "../context.js";
import { findRef, normalizeMessage, type GraphState } from "../graph-state.js";

/** The main loop's context, as `expect context` names it. */
export const MAIN_CONTEXT = "main";
/** The pin export's id and NBD name: not an id a scenario would choose. */
const PROBE_ID = "blockcheck-context-probe";

/** Why the expectation fails, or undefined when NODE runs in the expected context. */
export async function checkContext(ctx: StepContext, state: GraphState, ref: NodeRef, want: Identifier): Promise<string | undefined> {
  const node = findRef(state, ref);
  if (!node) return `expected node '${ref.text}' in context ${want.name}, but it does not exist`;
  const candidates = [want.name, ...ctx.iothreads.filter((id) => id !== want.name)];
  if (want.name !== MAIN_CONTEXT) candidates.push(MAIN_CONTEXT);
  const found = await probeContext(ctx, state, node, candidates);
  if ("problem" in found) return `cannot observe the context of node '${ref.text}': ${found.problem}`;
  if (found.context === want.name) return undefined;
  return `expected node '${ref.text}' in context ${want.name}, but it is in ${found.context}`;
}

type Probe = { context: string } | { problem: string };

async function probeContext(ctx: StepContext, state: GraphState, node: GraphNode, candidates: string[]): Promise<Probe> {
  // Asked even when an `export` started one: a `qmp nbd-server-stop` may have stopped it since.
  const r = await ctx.engine.qmp("nbd-server-start", { addr: { type: "unix", data: { path: "nbd.sock" } } });
  if ("error" in r && r.error.desc !== "NBD server already running") return { problem: await normalizeMessage(ctx, r.error.desc) };
  const startedServer = !("error" in r);
  try {
    const pin = await ctx.engine.qmp("block-export-add", {
      type: "nbd",
      id: PROBE_ID,
      "node-name": topmost(state, node).name,
      name: PROBE_ID,
      "fixed-iothread": true,
    });
    if ("error" in pin) return { problem: await normalizeMessage(ctx, pin.error.desc) };
    let found: string | undefined;
    try {
      for (const c of candidates) {
        if (await setIothread(ctx, node.name, c)) {
          found = c;
          break;
        }
      }
    } finally {
      await ctx.engine.qmp("block-export-del", { id: PROBE_ID });
      await ctx.events.wait("BLOCK_EXPORT_DELETED", { id: PROBE_ID }, ctx.eventTimeoutMs);
    }
    if (found === undefined) return { problem: "it runs in an iothread this run did not create with an iothread statement" };
    // Undo the move back to the main loop that the pin's removal may have made.
    if (found !== MAIN_CONTEXT && !(await setIothread(ctx, node.name, found))) return { problem: `it could not be put back into ${found}` };
    return { context: found };
  } finally {
    if (startedServer) await ctx.engine.qmp("nbd-server-stop");
  }
}

/** x-blockdev-set-iothread NODE CONTEXT force=true: whether it succeeded. */
async function setIothread(ctx: StepContext, nodeName: string, context: string): Promise<boolean> {
  const r = await ctx.engine.qmp("x-blockdev-set-iothread", { "node-name": nodeName, iothread: context === MAIN_CONTEXT ? null : context, force: true });
  return !("error" in r);
}

/** Up through node parents (the first one each time) to a node that has none. */
function topmost(state: GraphState, node: GraphNode): GraphNode {
  const seen = new Set<number>([node.id]);
  let n = node;
  for (;;) {
    const up = state.graph.edges.find((e) => e.child === n.id && state.graph.nodes.get(e.parent)?.type === "block-driver" && !seen.has(e.parent));
    if (!up) return n;
    n = state.graph.nodes.get(up.parent)!;
    seen.add(n.id);
  }
}
