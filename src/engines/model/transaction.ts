/**
 * QEMU's `Transaction` (util/transactions.c) in miniature: graph and permission changes are applied
 * immediately and record how to undo themselves; `abort` runs the undo actions newest first, `commit`
 * runs the commit actions (e.g. freeing detached subtrees) in order.
 */
export class Transaction {
  private readonly undo: Array<() => void> = [];
  private readonly onCommit: Array<() => void> = [];
  private finished = false;

  /** Record how to revert a change that has just been applied. */
  addUndo(action: () => void): void {
    this.undo.push(action);
  }

  /** Run this when the transaction commits (after every check passed). */
  addCommit(action: () => void): void {
    this.onCommit.push(action);
  }

  /** Keep every change and run the commit actions. */
  commit(): void {
    if (this.finished) return;
    this.finished = true;
    for (const action of this.onCommit) action();
  }

  /** Revert every change, newest first. */
  abort(): void {
    if (this.finished) return;
    this.finished = true;
    for (let i = this.undo.length - 1; i >= 0; i--) this.undo[i]!();
  }
}
