/**
 * blockdev-snapshot (blockdev.c: a transaction of one `external_snapshot` action): an existing node
 * without a backing file, which nobody reads yet, becomes the overlay of `node`. Prepare drains the
 * node, checks both, and appends the overlay (`bdrv_append`: it takes the node as its backing file
 * and the node's parents); commit reopens the node read-only, whatever that answers; abort takes
 * the overlay out again; clean ends the drained section.
 */
import { waitForNodeCoroutine } from "../aio-context/main-thread-wait.js";
import { bdrvFlush } from "../data/block-io.js";
import type { BdsNode } from "../graph.js";
import { bdrvDrainedBegin, bdrvDrainedEnd } from "../drain.js";
import { cowChild } from "../chain.js";
import { bdrvRef, bdrvUnref } from "../graph-ops.js";
import { bdrvAppend, replaceNode } from "../graph-replace.js";
import type { LayerState } from "../layer-state.js";
import { checkOpNotBlocked } from "../op-blockers.js";
import { cumulativePerms } from "../perm-refresh.js";
import { BLK_PERM_CONSISTENT_READ } from "../perms.js";
import { IoError } from "../data/io-error.js";
import { fail } from "../qmp-failure.js";
import { qemuAssert } from "../qemu-would-crash.js";
import { reopenSetReadOnlyQuietly } from "../reopen/set-read-only.js";
import { setBackingHd } from "../set-backing.js";
import type { CommandHandler } from "./handler.js";
import { type BlkAction, checkCompletionMode, type CompletionMode, runBlkActions } from "./transaction-actions.js";

export const blockdevSnapshot: CommandHandler = (state, args) => {
  runBlkActions(state, [() => externalSnapshot(state, args, "individual")]);
  return {};
};

/**
 * Where the two snapshot actions differ (external_snapshot_prepare's switch on the action, and its
 * sync branch): how the node is looked up, and how the overlay is opened.
 */
export interface SnapshotSource {
  type: "blockdev-snapshot" | "blockdev-snapshot-sync";
  /** `bdrv_lookup_bs` of the node. */
  lookup(): BdsNode;
  /**
   * What comes before `bdrv_open` of the overlay, and that open; `owned` is a node the action holds
   * a reference to, which clean lets go of (a node it opened, which nothing else may hold then).
   */
  openOverlay(oldBs: BdsNode): { bs: BdsNode; owned: boolean };
}

/** The `blockdev-snapshot` action (`external_snapshot_prepare` and its commit, abort and clean). */
export function externalSnapshot(state: LayerState, args: Record<string, unknown>, mode: CompletionMode): BlkAction {
  const node = String(args["node"]);
  const overlay = String(args["overlay"]);
  return externalSnapshotAction(state, mode, {
    type: "blockdev-snapshot",
    // bdrv_lookup_bs(node, node): the node name is tried as a device first.
    lookup: () => state.nodes.get(node) ?? fail(`Cannot find device='${node}' nor node-name='${node}'`),
    // bdrv_open(NULL, overlay): a reference is looked up the same way.
    openOverlay: () => ({ bs: state.nodes.get(overlay) ?? fail(`Cannot find device='${overlay}' nor node-name='${overlay}'`), owned: false }),
  });
}

/** `external_snapshot_prepare`, `_commit`, `_abort` and `_clean`, for either command. */
export function externalSnapshotAction(state: LayerState, mode: CompletionMode, source: SnapshotSource): BlkAction {
  let oldBs: BdsNode | undefined;
  let drained = false;
  let appended: BdsNode | undefined;
  let owned: BdsNode | undefined;
  return {
    prepare() {
      checkCompletionMode(source.type, mode);
      oldBs = source.lookup();
      drained = bdrvDrainedBegin(state, oldBs);
      checkOpNotBlocked(oldBs, "external-snapshot");
      // What a writable node wrote reaches the disk before the overlay takes writes; a flush that
      // fails (a blkdebug rule) fails the action with QERR_IO_ERROR. The flush is a coroutine in
      // the node's context, which external_snapshot_prepare holds (a leaked hold too: it hangs).
      if (!oldBs.readOnly) {
        waitForNodeCoroutine(state, oldBs, state.aio.of(oldBs), "external_snapshot_prepare's flush");
        try {
          bdrvFlush(state, oldBs);
        } catch (e) {
          if (e instanceof IoError) fail("An IO error has occurred");
          throw e;
        }
      }
      const opened = source.openOverlay(oldBs);
      if (opened.owned) owned = opened.bs;
      const newBs = opened.bs;
      checkOverlay(newBs);
      // external_snapshot_prepare holds the node's context.
      bdrvAppend(state, newBs, oldBs, state.aio.of(oldBs));
      appended = newBs;
    },
    commit() {
      // The node under the overlay is not written any more.
      reopenSetReadOnlyQuietly(state, oldBs!, true);
    },
    abort() {
      if (appended) undoAppend(state, appended, oldBs!);
    },
    clean() {
      if (!oldBs) return;
      // An earlier action's clean may have freed the node: an overlay blockdev-snapshot-sync opened
      // and its abort took out again. bdrv_close ended the node's drained sections
      // (bdrv_drain_all_end_quiesce) before the free, so QEMU reads a quiesce_counter of 0.
      if (oldBs.freed) qemuAssert({ file: "../../block/io.c", line: 525, func: "bdrv_do_drained_end" }, "bs->quiesce_counter > 0");
      if (drained) bdrvDrainedEnd(oldBs);
      // An overlay the action opened goes unless the node's parents took it.
      if (owned) bdrvUnref(state, owned);
    },
  };
}

/**
 * `external_snapshot_abort`: the overlay lets go of the node (which is held meanwhile), and the
 * node takes the overlay's parents back (`bdrv_replace_node`). Both stay in the context the append
 * gave them: in 7.2 a removed child (bdrv_remove_child) keeps its context, so the move back to the
 * node's old context that the abort would make has nothing to do.
 */
function undoAppend(state: LayerState, newBs: BdsNode, oldBs: BdsNode): void {
  bdrvRef(oldBs);
  setBackingHd(state, newBs, null);
  replaceNode(state, newBs, oldBs);
  bdrvUnref(state, oldBs);
}

/** What external_snapshot_prepare asks of the overlay before it appends it. */
function checkOverlay(bs: BdsNode): void {
  // A parent that only writes (a mirror target) may stay; one that reads would see the image change.
  if (cumulativePerms(bs)[0] & BLK_PERM_CONSISTENT_READ) fail("The overlay is already in use");
  if (bs.driver.isFilter) fail("Filters cannot be used as overlays");
  if (cowChild(bs)) fail("The overlay already has a backing image");
  if (!bs.driver.supportsBacking) fail("The overlay does not support backing images");
}
