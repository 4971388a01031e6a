/**
 * block.c `bdrv_try_change_aio_context` and its recursion (QEMU 7.2, the "change" API): every
 * parent and every child of a node must agree to follow it into the new context, then all of them
 * switch at once. The recursion visits each edge once (the `visited` set), parents before
 * children, each list newest first as QEMU keeps them; the first parent that refuses ends it and
 * nothing changes. Who refuses: a BlockBackend that may not change context (an export with
 * fixed-iothread=on: `blk_root_change_aio_ctx`, "Cannot change iothread of active block backend").
 * A job (`child_job_change_aio_ctx`) takes all of its nodes along.
 *
 * QEMU drains each node once its parents and children agreed (bdrv_drained_begin, ended in the
 * transaction's clean): a job above pauses while it still runs where it was, and resumes where it
 * went, which in an iothread whose lock the main thread leaked never happens (the job stays in
 * standby or paused). The drains' polls wait for a job that runs in an iothread, which needs that
 * context's lock (main-thread-wait.ts): so the walk knows whose lock its caller holds.
 */
import { bdrvDrainedBegin, bdrvDrainedEnd } from "../drain.js";
import type { BdsNode, Child, ParentRef } from "../graph.js";
import type { LayerState } from "../layer-state.js";
import { QemuAbort } from "../qemu-would-crash.js";
import { runInTransaction, type Transaction } from "../transaction.js";
import { type AioContext, strandDriverTimer } from "./aio-contexts.js";
import { acquireContext, DESTROYED_MUTEX_LOCKED, DESTROYED_MUTEX_UNLOCKED, freedContextUse } from "./iothread-objects.js";
import { drainedBeginPoll, drainedEndPoll, unlockNotOwned } from "./main-thread-wait.js";

/** The BlockBackend's refusal, word for word as block-backend.c sets it. */
export const ACTIVE_BACKEND_ERROR = "Cannot change iothread of active block backend";

/**
 * Edges already asked (QEMU's `visited` GHashTable), the context whose lock the caller holds, and
 * how often the new context's lock is taken more when the moved nodes' drained sections end there:
 * bdrv_try_change_aio_context takes it once around its commit (on top of the caller's, if the
 * caller holds it already); an attach that moves the parent instead takes none.
 */
export class Visited extends Set<Child> {
  constructor(
    readonly held: AioContext | undefined,
    readonly takenForCommit = 0,
  ) {
    super();
  }

  /** How often the main thread holds `ctx`'s lock when a drained section ends there. */
  holdsAtEnd(ctx: AioContext, moved: boolean): number {
    return ctx.leakedLocks + (ctx === this.held ? 1 : 0) + (moved ? this.takenForCommit : 0);
  }
}

/**
 * `bdrv_change_aio_context`: ask every parent and child of `bs` (and theirs) to follow into `ctx`;
 * on success the switch is recorded in `tran` (it happens at commit). Returns the refusal's
 * message, or undefined.
 */
export function changeAioContext(state: LayerState, bs: BdsNode, ctx: AioContext, visited: Visited, tran: Transaction): string | undefined {
  if (state.aio.of(bs) === ctx) return undefined;
  for (let i = bs.parents.length - 1; i >= 0; i--) {
    const problem = parentChangeAioContext(state, bs.parents[i]!, ctx, visited, tran);
    if (problem) return problem;
  }
  for (let i = bs.children.length - 1; i >= 0; i--) {
    const problem = childChangeAioContext(state, bs.children[i]!, ctx, visited, tran);
    if (problem) return problem;
  }
  drainedBeginPoll(state, bs, visited.held);
  const drained = bdrvDrainedBegin(state, bs);
  // bdrv_set_aio_context_commit: detach from the old context, holding its lock unless it is the main
  // loop's (a move out of a deleted iothread's freed context aborts there: the attach that moved a
  // parent in takes no lock, its abort moves the parent back), attach to the new (the driver's hook);
  // bdrv_set_aio_context_clean ends the drained section where the node is by then.
  tran.add({
    commit: () => {
      const old = state.aio.of(bs);
      if (!old.isMain) acquireContext(old);
      strandDriverTimer(old, bs);
      state.aio.set(bs, ctx);
      bs.driver.attachAioContext?.(bs, ctx);
    },
    clean: () => {
      if (drained && !bs.freed) bdrvDrainedEnd(bs);
      drainedEndPoll(state, bs, visited.holdsAtEnd(state.aio.of(bs), state.aio.of(bs) === ctx));
    },
  });
  return undefined;
}

/** `bdrv_parent_change_aio_context`: the edge's parent (its BdrvChildClass `change_aio_ctx`). */
function parentChangeAioContext(state: LayerState, c: Child, ctx: AioContext, visited: Visited, tran: Transaction): string | undefined {
  if (visited.has(c)) return undefined;
  visited.add(c);
  return changeParentOf(state, c.parent, ctx, visited, tran);
}

/**
 * The `change_aio_ctx` callback of the edge's parent: child_of_bds moves the parent node,
 * child_root asks the BlockBackend, child_job moves every node of the job.
 */
export function changeParentOf(state: LayerState, p: ParentRef, ctx: AioContext, visited: Visited, tran: Transaction): string | undefined {
  switch (p.kind) {
    case "node":
      return changeAioContext(state, p.node, ctx, visited, tran);
    case "bb":
      // An anonymous BlockBackend (every one qemu-storage-daemon has) must allow the change.
      return state.aio.allowsChange(p.bb) ? undefined : ACTIVE_BACKEND_ERROR;
    case "job": {
      for (const sibling of jobEdges(state, p.job)) {
        const problem = childChangeAioContext(state, sibling, ctx, visited, tran);
        if (problem) return problem;
      }
      // change_child_job_context
      const job = p.job;
      tran.add({ commit: () => (job.aioContext = ctx) });
      return undefined;
    }
  }
}

/** `bdrv_child_change_aio_context`. */
function childChangeAioContext(state: LayerState, c: Child, ctx: AioContext, visited: Visited, tran: Transaction): string | undefined {
  if (visited.has(c)) return undefined;
  visited.add(c);
  return changeAioContext(state, c.bs, ctx, visited, tran);
}

/** `job->nodes`: every edge the job holds (newest first, as block_job_add_bdrv prepends). */
function jobEdges(state: LayerState, job: object): Child[] {
  const edges: Child[] = [];
  for (const node of state.nodes.values()) for (const c of node.parents) if (c.parent.kind === "job" && c.parent.job === job) edges.push(c);
  return edges.sort((a, b) => (b.attachSeq ?? 0) - (a.attachSeq ?? 0));
}

/** Options of tryChangeAioContext. */
export interface TryChangeOptions {
  /** An edge not to follow (`ignore_child`). */
  ignoreChild?: Child;
  /**
   * The context whose lock the caller holds. bdrv_try_change_aio_context releases the node's old
   * context once everything agreed; if that is an iothread's the caller did not lock, QEMU 7.2
   * unlocks a mutex it does not own and aborts (blockdev-add of a node over one that runs in an
   * iothread, a reopen attaching such a node: both crash qemu-storage-daemon 7.2.22).
   */
  held: AioContext | undefined;
}

/**
 * `bdrv_try_change_aio_context`: move `bs` and everything connected to it into `ctx`, or nothing.
 * Returns the refusal's message, or undefined once moved.
 */
export function tryChangeAioContext(state: LayerState, bs: BdsNode, ctx: AioContext, opts: TryChangeOptions): string | undefined {
  const old = state.aio.of(bs);
  const visited = new Visited(opts.held, 1);
  if (opts.ignoreChild) visited.add(opts.ignoreChild);
  return changeInOwnTransaction((tran) => {
    const problem = changeAioContext(state, bs, ctx, visited, tran);
    if (problem !== undefined) return problem;
    // Everything agreed: QEMU releases the old context (a refusal touches no lock), then takes the
    // new one for the commit.
    if (old.destroyed) throw freedContextUse(old, new QemuAbort("SIGABRT", DESTROYED_MUTEX_UNLOCKED));
    if (!old.isMain && old !== opts.held && old.leakedLocks === 0) throw unlockNotOwned();
    if (ctx.destroyed) throw freedContextUse(ctx, new QemuAbort("SIGABRT", DESTROYED_MUTEX_LOCKED));
    return undefined;
  });
}

/**
 * Run a change in a transaction of its own: committed if everyone agreed, aborted (only clean()
 * runs, no context changed) if someone refused. Returns the refusal, or undefined.
 */
export function changeInOwnTransaction(change: (tran: Transaction) => string | undefined): string | undefined {
  let problem: string | undefined;
  try {
    runInTransaction((tran) => {
      problem = change(tran);
      if (problem !== undefined) throw new RefusedChange();
    });
  } catch (e) {
    if (e instanceof RefusedChange) return problem;
    throw e;
  }
  return undefined;
}

/** Ends a transaction whose change was refused; never leaves this file. */
class RefusedChange extends Error {}

/**
 * The end of block.c `bdrv_detach_child`: "When the parent requiring a non-default AioContext is
 * removed, the node moves back to the main AioContext" — everything still connected to it goes
 * along, unless something refuses (the refusal is ignored). Most callers (blockdev-del, an export's
 * removal, blk_exp_add's failure path, a job's end) hold the node's context, so the move never
 * trips QEMU's locking; `held` is null where the caller holds none (a free at a reopen's commit).
 */
export function moveToMainAfterDetach(state: LayerState, bs: BdsNode, held: AioContext | null = state.aio.of(bs)): void {
  if (bs.freed) return;
  tryChangeAioContext(state, bs, state.aio.main, { held: held ?? undefined });
}
