/**
 * Op blockers (block.c `bdrv_op_block`, `bdrv_op_is_blocked`): a node refuses some operations while
 * something relies on it, and the newest blocker's reason is the error, prefixed
 * "Node '<name>' is busy: ". QEMU keeps one list per operation type; the model derives the lists
 * from what sets them, because each blocker lives exactly as long as its cause:
 *
 * - a backing file is blocked by its overlay (`bdrv_backing_attach`, set when a format node attaches
 *   a COW child, gone at detach) for everything but commit-target, stream and backup;
 * - every node a block job uses is blocked for everything (`block_job_add_bdrv`), the job's main
 *   node except for dataplane;
 * - a few blockers live on the node itself (mirror's replace blocker, `extraBlockers`).
 *
 * They are ordered by when they were set (attach order), newest first, as QLIST_INSERT_HEAD does.
 */
import type { BdsNode } from "./graph.js";
import { fail } from "./qmp-failure.js";
import { BDRV_CHILD_COW, BDRV_CHILD_FILTERED } from "./roles.js";

/** BlockOpType, the operations the model checks. */
export type BlockOp =
  | "backup-source"
  | "backup-target"
  | "change"
  | "commit-source"
  | "commit-target"
  | "drive-del"
  | "external-snapshot"
  | "internal-snapshot"
  | "internal-snapshot-delete"
  | "mirror-source"
  | "mirror-target"
  | "replace"
  | "resize"
  | "stream";

/** What bdrv_backing_attach unblocks again: a backing file may still be committed into, streamed or backed up. */
const BACKING_ALLOWS: ReadonlySet<BlockOp> = new Set(["commit-target", "stream", "backup-source", "backup-target"]);

/** The reason of the newest blocker of `op` on `node`, or undefined. */
export function opBlocker(node: BdsNode, op: BlockOp): string | undefined {
  let best: { seq: number; reason: string } | undefined;
  const consider = (seq: number, reason: string) => {
    if (!best || seq > best.seq) best = { seq, reason };
  };
  for (const c of node.parents) {
    const seq = c.attachSeq ?? 0;
    if (c.parent.kind === "job") {
      consider(seq, c.parent.job.blockerReason);
    } else if (c.parent.kind === "node") {
      const parent = c.parent.node;
      // bdrv_child_cb_attach gives filters' children no backing blocker.
      const backing = c.role & BDRV_CHILD_COW && !(c.role & BDRV_CHILD_FILTERED) && !parent.driver.isFilter;
      if (backing && !BACKING_ALLOWS.has(op)) consider(seq, `node is used as backing hd of '${parent.name}'`);
    }
  }
  for (const b of node.extraBlockers ?? []) consider(b.seq, b.reason);
  return best?.reason;
}

/** `bdrv_op_is_blocked` with an error: throws "Node '<name>' is busy: <reason>". */
export function checkOpNotBlocked(node: BdsNode, op: BlockOp): void {
  const reason = opBlocker(node, op);
  if (reason !== undefined) fail(`Node '${node.name}' is busy: ${reason}`);
}
