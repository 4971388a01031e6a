/**
 * QEMU's `Transaction` (include/qemu/transactions.h, util/transactions.c). Graph and permission
 * changes are applied at once and each records an action saying how to finish it: `abort` undoes
 * the change, `commit` does what may only happen once everything succeeded (freeing a detached
 * subtree, dropping old lock bytes), `clean` releases what both need. `tran_add` inserts at the
 * head of the list, so commit and abort both run newest-first; `finalize` is the only way out, and
 * cleans after committing or aborting.
 */
import { BlockcheckError } from "../../errors.js";

/** One recorded change (`TransactionActionDrv` plus its opaque pointer). */
export interface TransactionAction {
  /** Undo the change (the transaction failed). */
  abort?(): void;
  /** Make the change final (the transaction succeeded). */
  commit?(): void;
  /** Runs after commit or abort, whichever happened. */
  clean?(): void;
}

/** A transaction used after `finalize`: a model bug, never a QEMU behaviour. */
export class TransactionFinishedError extends BlockcheckError {
  constructor(what: string) {
    super("E_MODEL_TRANSACTION", `model bug: ${what} on a transaction that was already finalized`);
  }
}

export class Transaction {
  /** Oldest first (a cheap push); read backwards, that is QEMU's list after QSLIST_INSERT_HEAD. */
  private readonly actions: TransactionAction[] = [];
  private finished = false;

  /** `tran_add`: record an action; it will run before every action recorded earlier. */
  add(action: TransactionAction): void {
    if (this.finished) throw new TransactionFinishedError("add");
    this.actions.push(action);
  }

  /** Move every action, in order, to the end of `outer`; this transaction is then finished. */
  handOver(outer: Transaction): void {
    if (this.finished) throw new TransactionFinishedError("handOver");
    this.finished = true;
    for (const action of this.actions) outer.add(action);
  }

  /**
   * `tran_finalize`: abort when `failure` is set (the error that ended the work), otherwise commit;
   * then clean. Either way newest-first.
   */
  finalize(failure: unknown): void {
    if (this.finished) throw new TransactionFinishedError("finalize");
    this.finished = true;
    const aborting = failure !== undefined;
    const list = this.actions;
    for (let i = list.length - 1; i >= 0; i--) {
      if (aborting) list[i]!.abort?.();
      else list[i]!.commit?.();
    }
    for (let i = list.length - 1; i >= 0; i--) list[i]!.clean?.();
  }
}

/**
 * Run `body` as a step QEMU finalizes in a transaction of its own (`bdrv_attach_child`), inside a
 * larger change the model keeps undoable: if `body` throws, the step's actions are aborted at once,
 * so the caller sees the graph as QEMU has it after the failed step; if it returns, they join
 * `outer`, to be committed or aborted with the rest.
 */
export function runStep<T>(outer: Transaction, body: (tran: Transaction) => T): T {
  const step = new Transaction();
  let result: T;
  try {
    result = body(step);
  } catch (e) {
    step.finalize(e ?? new Error("undefined was thrown"));
    throw e;
  }
  step.handOver(outer);
  return result;
}

/**
 * Run `body` in a fresh transaction and finalize it with the outcome: committed when `body`
 * returns, aborted when it throws (the error is rethrown after the abort). The shape of every
 * `tran = tran_new(); …; tran_finalize(tran, ret);` in block.c.
 */
export function runInTransaction<T>(body: (tran: Transaction) => T): T {
  const tran = new Transaction();
  let result: T;
  try {
    result = body(tran);
  } catch (e) {
    // A thrown `undefined` still aborts.
    tran.finalize(e ?? new Error("undefined was thrown"));
    throw e;
  }
  tran.finalize(undefined);
  return result;
}
