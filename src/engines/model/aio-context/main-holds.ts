/**
 * Which AioContext lock the main thread holds while a graph change ends or begins a drained section
 * on an edge (bdrv_replace_child_noperm's bdrv_parent_drained_begin_single / _end_single, which poll
 * in the parent's context). Most of the model's graph changes happen where QEMU holds the right
 * lock, and nothing is checked there; the scopes opened here are where QEMU 7.2 holds none or
 * another one: bdrv_reopen_multiple aborts its transaction after releasing the lock of the entry
 * whose prepare failed, so an undone attach or detach in an iothread polls without its lock; and
 * each prepare holds its entry's lock only, so a new child in an iothread that enters the entry's
 * subtree drain (bdrv_apply_subtree_drain) polls there without its own.
 */
import type { BdsNode, Child } from "../graph.js";
import type { LayerState } from "../layer-state.js";
import type { AioContext } from "./aio-contexts.js";
import { drainedBeginPoll, drainedEndPoll } from "./main-thread-wait.js";

interface Scope {
  state: LayerState;
  /** The context whose lock the main thread holds once, or null for none. */
  held: AioContext | null;
}

let scope: Scope | undefined;

/** Run `body` with the main thread holding `held`'s lock once (null: no lock), as far as edge drains are concerned. */
export function withMainHolding<T>(state: LayerState, held: AioContext | null, body: () => T): T {
  const outer = scope;
  scope = { state, held };
  try {
    return body();
  } finally {
    scope = outer;
  }
}

/** The poll of bdrv_parent_drained_begin_single on an edge whose parent is `parent`. */
export function edgeDrainBeginPoll(parent: BdsNode): void {
  if (scope) drainedBeginPoll(scope.state, parent, scope.held ?? undefined);
}

/**
 * The poll of bdrv_apply_subtree_drain's bdrv_do_drained_begin on a new child `bs`. Under a mirror
 * in an iothread whose lock is not held, QEMU 7.2 aborted in 15 runs of 20 and went on in 5.
 */
export function subtreeDrainBeginPoll(bs: BdsNode): void {
  if (scope) drainedBeginPoll(scope.state, bs, scope.held ?? undefined, true, { recursive: true });
}

/**
 * The poll of bdrv_unapply_subtree_drain on `c.bs`, the child edge `c` is leaving: it waits for the
 * drain-end callbacks its ended subtree sections scheduled (a throttle node above the child).
 */
export function subtreeDrainEndPoll(c: Child): void {
  if (!scope) return;
  const ctx = scope.state.aio.of(c.bs);
  drainedEndPoll(scope.state, c.bs, ctx.leakedLocks + (ctx === scope.held ? 1 : 0), { recursive: true, ignore: c });
}

/** The poll of bdrv_parent_drained_end_single on an edge whose parent is `parent`. */
export function edgeDrainEndPoll(parent: BdsNode): void {
  if (!scope) return;
  const ctx = scope.state.aio.of(parent);
  drainedEndPoll(scope.state, parent, ctx.leakedLocks + (ctx === scope.held ? 1 : 0));
}
