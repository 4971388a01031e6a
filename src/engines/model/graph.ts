/**
 * The block graph: nodes (BlockDriverState), child edges (BdrvChild) and non-node parents
 * (BlockBackend). List orders follow QEMU: QEMU inserts children and parents at the list head, so its
 * lists are newest-first; here arrays are kept oldest-first (cheap push) and read backwards where
 * QEMU's order matters.
 */
import type { AioContext } from "./aio-context/aio-contexts.js";
import type { ChildSlots } from "./child-slots.js";
import type { DirtyBitmap } from "./jobs/dirty-bitmap.js";
import type { DriverDef } from "./drivers/driver.js";
import type { OpaqueBox } from "./opaque.js";
import { fail } from "./qmp-failure.js";
import { BDRV_CHILD_FILTERED, BDRV_CHILD_PRIMARY } from "./roles.js";

/** Flattened QDict options (dotted keys, e.g. "unshare-child-perms.0"), in insertion order. */
export type Flat = Record<string, unknown>;

/**
 * Who holds a child edge (the edge's BdrvChildClass): another node (child_of_bds), a BlockBackend
 * (child_root: exports, a job's own BlockBackends) or a block job (child_job, blockjob.c).
 */
export type ParentRef = { kind: "node"; node: BdsNode } | { kind: "bb"; bb: BlockBackend } | { kind: "job"; job: JobParent };

/** An op blocker a job sets on a node for a while (`bdrv_op_block_all` with its own reason). */
export interface OpBlocker {
  reason: string;
  /** Place in the graph-wide attach order when it was set (see Child.attachSeq). */
  seq: number;
}

/** What the graph needs of a block job holding edges: its id and type (the rest is jobs/block-job.ts). */
export interface JobParent {
  readonly id: string;
  /** JobType name ("commit", "stream", "mirror"). */
  readonly jobType: string;
  /** The job's op blocker text ("block device is in use by block job: commit"). */
  readonly blockerReason: string;
  /** `child_job_drained_begin`: a node the job uses is drained, so the job pauses. */
  drainedBegin(): void;
  /** `child_job_drained_end`. */
  drainedEnd(): void;
  /** `child_job_drained_poll` once a drained section on one of its nodes began: still running. */
  busyWhenDrained(): boolean;
  /** job->aio_context: its nodes' context, kept as it was once they are gone. */
  aioContext: AioContext;
  /**
   * Whether the job, woken in an iothread by that section, reliably is still running when the
   * main thread's poll first looks (mirror_run: yes); otherwise it may reach its pause point first.
   */
  readonly slowToPause: boolean;
}

/** A BdrvChild: one edge from a parent to a node, with the permissions it takes and shares. */
export interface Child {
  /** Child name as QEMU shows it ("file", "backing", "image", "data-file", "root"). */
  name: string;
  /** BdrvChildRole flags. */
  role: number;
  parent: ParentRef;
  bs: BdsNode;
  perm: number;
  shared: number;
  /** Attached since the last permission refresh processed its child (forces that child's check). */
  fresh: boolean;
  /**
   * Moved to another node (bdrv_replace_child_noperm) since its parent's last refresh: its perms
   * are what the parent's rule gave for the old node (child-slots.ts keeps these edges).
   */
  stale?: boolean;
  /** BdrvChild.frozen: a job froze this backing/filtered link (bdrv_freeze_backing_chain); it cannot change. */
  frozen?: boolean;
  /** When the edge was last attached to its node, in graph-wide order (orders op blockers). */
  attachSeq?: number;
  /** BdrvChild.parent_quiesce_counter: drained sections this edge passed on to its parent (drain.ts). */
  parentQuiesce?: number;
}

/** A BlockDriverState. */
export interface BdsNode {
  /** Creation serial, unique for the engine's lifetime. */
  readonly serial: number;
  name: string;
  /** The node got a generated "#block…" name (no node-name was given); transcripts name it by path. */
  autoNamed: boolean;
  driver: DriverDef;
  /** bs->options: effective options without children's options and references. */
  options: Flat;
  /** bs->explicit_options: what was given explicitly (not inherited), without children. */
  explicitOptions: Flat;
  readOnly: boolean;
  forceShare: boolean;
  /** bs->probed: the format came from find_image_format, not from the options (a raw one guards its first sector). */
  probed?: boolean;
  /** BDRV_O_UNMAP in bs->open_flags: what a detect-zeroes=unmap without a discard option relies on. */
  unmap: boolean;
  /** Child edges, oldest first. */
  children: Child[];
  /** Edges into this node, oldest first. */
  parents: Child[];
  /** Created as a blockdev-add root, so the monitor holds a reference. */
  monitorOwned: boolean;
  /**
   * References held by code rather than by an edge (`bdrv_ref` around a graph change, a job's
   * hold on a node it will replace); see graph-ops.ts `bdrvRef`.
   */
  heldRefs?: number;
  /** The layer's BdrvChild memory (child-slots.ts), set when the node is registered. */
  slots?: ChildSlots;
  /** The parent that created this node inline (bs->inherits_from). */
  inheritsFrom: BdsNode | null;
  /**
   * bs->implicit: a filter node a block job inserted without being given a node-name (commit_top,
   * mirror_top, …), which QEMU hides (reopen may not replace it; it is skipped when comparing a new
   * child with the old). Not to be confused with nodes opened inline or from an image header, which
   * are ordinary nodes, auto-named or not.
   */
  implicit: boolean;
  /** bs->quiesce_counter: drained sections the node is in (drain.ts). */
  quiesce?: number;
  /** bs->recursive_quiesce_counter: subtree drained sections started at the node. */
  recursiveQuiesce?: number;
  /** bs->write_gen: requests that changed the node (writes, discards, truncations); absent: 0. */
  writeGen?: number;
  /** bs->wr_highest_offset: the furthest end of a write request, failed or not; absent: 0. */
  wrHighestOffset?: number;
  /** BDRV_REQ_FUA in bs->supported_write_flags, as the driver's open set it (DriverDef.fua). */
  fuaWrites?: boolean;
  /** BDRV_REQ_FUA in bs->supported_zero_flags, as the driver's open set it. */
  fuaZeroWrites?: boolean;
  /** bs->flushed_gen: write_gen at the last flush that succeeded; absent: 0. */
  flushedGen?: number;
  /**
   * bs->write_threshold_offset (block-set-write-threshold); 0 or absent: none. A uint64, kept as
   * the int64 query-named-block-nodes reports it (2^63 and above are negative).
   */
  writeThreshold?: number;
  /** bs->dirty_bitmaps, oldest first: the user's (block-dirty-bitmap-add), a job's or a filter's. */
  dirtyBitmaps?: DirtyBitmap[];
  /** Op blockers set by other means than an edge (mirror's replace blocker), see op-blockers.ts. */
  extraBlockers?: OpBlocker[];
  /** bs->never_freeze: a job filter that must stay removable (bdrv_freeze_backing_chain refuses to freeze a link to it). */
  neverFreeze?: boolean;
  /** Image size in bytes as this node sees it (total_sectors is derived from it). */
  size: number;
  /**
   * bs->total_sectors * 512 of a driver with has_variable_length, as the last refresh_total_sectors
   * (or a write past the end) left it; code that reads bs->total_sectors instead of asking
   * bdrv_getlength sees this (node-length.ts).
   */
  lengthCache?: number;
  /** bl.request_alignment. */
  alignment: number;
  /** bs->backing_file: the backing file name from the image header ("" if none). */
  backingFile: string;
  /** bs->backing_format: the backing format from the image header ("" if none). */
  backingFormat: string;
  /** bs->encrypted: set by the open of an encryption format (luks). */
  encrypted?: boolean;
  /** bs->auto_backing_file: the header's backing name, or the header-named backing's filename once opened. */
  autoBackingFile: string;
  /**
   * bs->exact_filename as bdrv_open_common sets it (the `filename` option, "" if none). Only a node
   * without a refreshFilename hook and without a primary child (file-posix) keeps it.
   */
  exactFilename: string;
  /** bs->opaque: the driver's private state, read only through that driver's OpaqueSlot. */
  opaque: OpaqueBox | null;
  /** Whether the node was freed (stale references must not be used). */
  freed: boolean;
  /**
   * `bs->drv = NULL`: qcow2_signal_corruption took the driver away. The node stays in the graph,
   * but requests to it and its parents fail with -ENOMEDIUM (bdrv_is_inserted) and its close runs
   * no driver code.
   */
  ejected?: boolean;
  /**
   * Its driver's timer (qcow2's cache-clean timer) was left armed in the AioContext it was in when
   * the driver went: with no driver, neither a move nor the close deletes it (aio-contexts.ts).
   */
  timerStranded?: boolean;
}

/** A BlockBackend; in qemu-storage-daemon all of them are anonymous (exports). */
export interface BlockBackend {
  readonly serial: number;
  root: Child | null;
}

/**
 * The parent's description in permission-conflict messages (`get_parent_desc`): block.c
 * `bdrv_child_get_parent_desc`, block-backend.c `blk_root_get_parent_desc`, blockjob.c
 * `child_job_get_parent_desc`.
 */
export function parentDescription(parent: ParentRef): string {
  switch (parent.kind) {
    case "node":
      return `node '${parent.node.name}'`;
    case "bb":
      return "an unnamed block device";
    case "job":
      return `${parent.job.jobType} job '${parent.job.id}'`;
  }
}

/** The named child of a node (QEMU: bs->file / bs->backing / by name), or undefined. */
export function childNamed(node: BdsNode, name: string): Child | undefined {
  for (let i = node.children.length - 1; i >= 0; i--) {
    const c = node.children[i]!;
    if (c.name === name) return c;
  }
  return undefined;
}

/** QEMU's bs->file: the child its driver opened as its file (blkdebug's `image`), or one a reopen named `file` since. */
export function fileChild(node: BdsNode): Child | undefined {
  return childNamed(node, "file") ?? (node.driver.fileChildName ? childNamed(node, node.driver.fileChildName) : undefined);
}

/** The FUA support a driver's open leaves in bs->supported_write_flags and supported_zero_flags. */
export function setFuaSupport(node: BdsNode): void {
  const fua = node.driver.fua;
  if (!fua) return;
  const file = fileChild(node)?.bs;
  node.fuaWrites = fua.write === "own" || (fua.write === "file" && !!file?.fuaWrites);
  node.fuaZeroWrites = fua.zero === "own" || (fua.zero === "file" && !!file?.fuaZeroWrites);
}

/** `bdrv_primary_child`: the child with the PRIMARY role, if any. */
export function primaryChild(node: BdsNode): Child | undefined {
  return node.children.find((c) => c.role & BDRV_CHILD_PRIMARY);
}

/** `bdrv_filter_child`: a filter's FILTERED child (its `file`, or blkdebug's `image`); none for other nodes. */
export function filteredChild(node: BdsNode): Child | undefined {
  if (!node.driver.isFilter) return undefined;
  return node.children.find((c) => c.role & BDRV_CHILD_FILTERED);
}

/** `bdrv_skip_implicit_filters`: down through implicit filter nodes to the first other node. */
export function skipImplicitFilters(node: BdsNode): BdsNode {
  let n = node;
  while (n.implicit) {
    const c = filteredChild(n);
    if (!c) break;
    n = c.bs;
  }
  return n;
}

/** `bdrv_inherits_from_recursive`: whether `child` was created (transitively) by `parent`. */
export function inheritsFromRecursive(child: BdsNode | null, parent: BdsNode): boolean {
  let n = child;
  while (n && n !== parent) n = n.inheritsFrom;
  return n !== null;
}

/** Remove one element from an array by identity (lists here are short). */
export function removeFrom<T>(list: T[], item: T): number {
  const i = list.lastIndexOf(item);
  if (i >= 0) list.splice(i, 1);
  return i;
}

/**
 * The check `bdrv_attach_child_noperm` makes before a node gets a child: `bdrv_recurse_has_child`,
 * whether the parent is the child or below it.
 */
export function checkNoCycle(parent: BdsNode, child: BdsNode, name: string): void {
  if (reaches(child, parent)) fail(`Making '${child.name}' a ${name} child of '${parent.name}' would create a cycle`);
}

/** Whether `target` is reachable from `from` through child edges (explicit stack: deep chains). */
export function reaches(from: BdsNode, target: BdsNode): boolean {
  const seen = new Set<BdsNode>();
  const stack = [from];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n === target) return true;
    if (seen.has(n)) continue;
    seen.add(n);
    for (const c of n.children) stack.push(c.bs);
  }
  return false;
}
