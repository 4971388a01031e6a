/**
 * `bdrv_reopen_multiple`: prepare every entry in queue order (the first error aborts), refresh
 * permissions over {bs, old backing, old file} of every entry with the post-reopen flags, then commit
 * in reverse queue order and commit the transaction — or abort it, and let every driver that
 * prepared drop what it staged.
 */
import { withMainHolding } from "../aio-context/main-holds.js";
import { waitForNodeCoroutine } from "../aio-context/main-thread-wait.js";
import { bdrvFlush } from "../data/block-io.js";
import { drainsCounted } from "../drain.js";
import { IoError, ModelIoUnsupportedError, strerror } from "../data/io-error.js";
import type { BdsNode } from "../graph.js";
import type { LayerState } from "../layer-state.js";
import { qdictClone } from "../options.js";
import { refreshPerms } from "../perm-refresh.js";
import { refreshLimits } from "../refresh-limits.js";
import { QemuAbort, qemuAssert } from "../qemu-would-crash.js";
import { QemuHang } from "../qemu-would-hang.js";
import { fail } from "../qmp-failure.js";
import { Transaction } from "../transaction.js";
import { prepareEntry } from "./prepare.js";
import type { ReopenEntry, ReopenQueue } from "./queue.js";

/** Apply one prepared entry (`bdrv_reopen_commit`): the driver's part first, then the node's options and flags. */
function commitEntry(state: LayerState, entry: ReopenEntry): void {
  const bs = entry.bs;
  if (entry.driver) bs.driver.reopenCommit?.(entry.driver, state);
  const options = { ...entry.options };
  const explicit = { ...entry.explicitOptions };
  for (const c of bs.children) {
    delete options[c.name];
    delete explicit[c.name];
  }
  delete options["backing"];
  delete explicit["backing"];
  // bdrv_reopen_prepare put back the clone it made of the options (orig_reopen_opts).
  bs.options = qdictClone(options);
  bs.explicitOptions = explicit;
  bs.readOnly = entry.readOnly;
  bs.unmap = entry.unmap;
  refreshLimits(bs);
}

/** QEMU died or hangs where `e` was thrown, or the model cannot say which: nothing more happens. */
export function stopsThere(e: unknown): boolean {
  return e instanceof QemuAbort || e instanceof QemuHang || e instanceof ModelIoUnsupportedError;
}

/** Run the reopen transaction; throws the first QmpFailure after rolling everything back. */
export function reopenMultiple(state: LayerState, queue: ReopenQueue): void {
  // Every node of the queue is flushed, its context held, before anything is prepared; the first
  // flush that fails (a blkdebug rule) fails the reopen, before anything changed.
  for (const entry of queue.entries) {
    waitForNodeCoroutine(state, entry.bs, state.aio.of(entry.bs), "bdrv_reopen_multiple's flush");
    try {
      bdrvFlush(state, entry.bs);
    } catch (e) {
      if (e instanceof IoError) fail(`Error flushing drive: ${strerror(e.errno)}`);
      throw e;
    }
  }
  const tran = new Transaction();
  try {
    for (const entry of queue.entries) {
      // Every node was drained when it was queued, but an earlier entry's prepare may have
      // detached it from the parent whose sections it was in (a node given twice, its inline
      // child queued by the first entry and dropped by the second).
      if (drainsCounted(state) && (entry.bs.quiesce ?? 0) <= 0) {
        qemuAssert({ file: "../../block.c", line: 4405, func: "bdrv_reopen_multiple" }, "bs_entry->state.bs->quiesce_counter > 0");
      }
      // Each prepare holds its entry's AioContext lock, and only that one.
      withMainHolding(state, state.aio.of(entry.bs), () => prepareEntry(state, entry, tran));
    }
    const starts: BdsNode[] = [];
    for (const e of queue.entries) {
      starts.push(e.bs);
      if (e.oldBacking) starts.push(e.oldBacking);
      if (e.oldFile) starts.push(e.oldFile);
    }
    refreshPerms(state, starts, tran, queue.flags());
    for (let i = queue.entries.length - 1; i >= 0; i--) commitEntry(state, queue.entries[i]!);
  } catch (e) {
    const failure = e ?? new Error("undefined was thrown");
    if (stopsThere(e)) {
      // What the abort meets in a graph change left halfway is not QEMU's: it has died already.
      try {
        tran.finalize(failure);
      } catch (again) {
        if (!(again instanceof QemuAbort || again instanceof QemuHang)) throw again;
      }
      throw e;
    }
    // tran_abort runs with no AioContext lock held: each prepare took and released its entry's.
    withMainHolding(state, null, () => tran.finalize(failure));
    // After tran_abort, in queue order.
    for (const entry of queue.entries) if (entry.driver) entry.bs.driver.reopenAbort?.(entry.driver, state);
    throw e;
  }
  tran.finalize(undefined);
  // The queue holds no reference to its nodes. One the reopen detached from its last parent (an
  // inline child given with its parent's new `file` or `backing`) was freed by tran_commit, and
  // QEMU 7.2 goes on using it: bdrv_reopen_commit_post and bdrv_reopen_queue_free walk the
  // queue, qmp_blockdev_reopen ends the drained section of each node it was given.
  const freed = queue.entries.find((e) => e.bs.freed);
  if (freed) throw new QemuAbort("SIGSEGV", `bdrv_reopen_multiple: node '${freed.bs.name}' of the reopen queue was freed when the reopen detached it, and is used after`);
  // bdrv_reopen_commit_post, in reverse queue order, each in its node's AioContext.
  for (let i = queue.entries.length - 1; i >= 0; i--) {
    const entry = queue.entries[i]!;
    const post = entry.bs.driver.reopenCommitPost;
    if (post && entry.driver) withMainHolding(state, state.aio.of(entry.bs), () => post(entry.driver!, state));
  }
}
