/**
 * How `qmp_transaction` (blockdev.c, QEMU 7.2) runs its actions, each a `BlkActionOps`: after a
 * `bdrv_drain_all`, every action is prepared in order until one fails; then either every prepared
 * action commits, in order, or every one that was tried (the failing one included) aborts, newest
 * first; clean runs last, in order, either way. The first failure is the command's error.
 * 7.2 does not use util/transactions.c here; that came with 8.0.
 */
import { acquireEveryNodeContext } from "../aio-context/iothread-objects.js";
import { bdrvDrainAll } from "../drain.js";
import type { LayerState } from "../layer-state.js";
import { fail, QmpFailure } from "../qmp-failure.js";

/** One action of a transaction (`BlkActionState` with its `BlkActionOps`). */
export interface BlkAction {
  /** Throws the QmpFailure that ends the transaction. */
  prepare(): void;
  commit?(): void;
  abort?(): void;
  clean?(): void;
}

/** `ActionCompletionMode`. */
export type CompletionMode = "individual" | "grouped";

/** `action_check_completion_mode`: only the backup actions take part in a grouped completion. */
export function checkCompletionMode(type: string, mode: CompletionMode): void {
  if (mode !== "individual") fail(`Action '${type}' does not support Transaction property completion-mode = ${mode}`);
}

/** The body of `qmp_transaction` over actions already made from the command's list. */
export function runBlkActions(state: LayerState, actions: readonly (() => BlkAction)[]): void {
  // Before any action is even looked up.
  acquireEveryNodeContext(state);
  bdrvDrainAll(state, state.nodes.values());
  const tried: BlkAction[] = [];
  let failure: QmpFailure | undefined;
  for (const make of actions) {
    const action = make();
    tried.push(action);
    try {
      action.prepare();
    } catch (e) {
      if (!(e instanceof QmpFailure)) throw e;
      failure = e;
      break;
    }
  }
  if (failure) {
    for (let i = tried.length - 1; i >= 0; i--) tried[i]!.abort?.();
  } else {
    for (const action of tried) action.commit?.();
  }
  for (const action of tried) action.clean?.();
  if (failure) throw failure;
}
